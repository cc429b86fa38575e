/* cmd_audit.c - `vigia audit verify`: walks the audit chain and names the
 * first broken event; exits 1 when the chain does not hold. */
#include "commands.h"
#include "output.h"

int vg_cmd_audit_verify(struct vg_cli *cli, size_t nwords, const char **words) {
  (void)words;
  if (nwords > 0) {
    vg_cli_error("audit verify takes no arguments");
    return VG_EXIT_USAGE;
  }
  vg_store *store = NULL;
  int status = vg_out_open_store(cli, false, &store);
  if (status != VG_EXIT_OK)
    return status;
  struct vg_audit_report rep;
  int rc = vg_store_audit_verify(store, &rep);
  if (rc != 0) {
    status = vg_out_store_error(store, rc);
    goto out;
  }
  if (cli->json) {
    json_t *doc =
        json_pack("{s:b,s:I}", "ok", rep.ok, "events", (json_int_t)rep.events);
    if (doc && !rep.ok) {
      json_object_set_new(doc, "broken_event",
                          rep.broken_event ? json_integer(rep.broken_event)
                                           : json_null());
      json_object_set_new(doc, "problem", json_string(rep.problem));
    }
    status = doc ? vg_out_json(cli, doc) : VG_EXIT_FAILURE;
    json_decref(doc);
  } else if (rep.ok) {
    printf("audit chain ok: %lld events, head %s\n", (long long)rep.events,
           rep.events ? rep.head : "-");
  } else if (rep.broken_event) {
    printf("audit chain broken at event %lld: %s\n",
           (long long)rep.broken_event, rep.problem);
  } else {
    printf("audit chain broken: %s\n", rep.problem);
  }
  if (status == VG_EXIT_OK && !rep.ok)
    status = VG_EXIT_FAILURE;
out:
  vg_store_close(store);
  return status;
}
