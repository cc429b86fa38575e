/* arena.h - a bump allocator: many small allocations freed at once. Rule
 * loading builds into one; the evaluator resets one per record, so the hot
 * path allocates from memory it already holds. */
#ifndef VG_ARENA_H
#define VG_ARENA_H

#include <stddef.h>

struct vg_arena_chunk;

struct vg_arena {
  struct vg_arena_chunk *head; /* current chunk; older ones follow */
  size_t chunk_size;
};

void vg_arena_init(struct vg_arena *arena, size_t chunk_size);
/* Frees every chunk. */
void vg_arena_close(struct vg_arena *arena);
/* Forgets every allocation but keeps the largest chunk for reuse, so a
 * steady workload stops calling malloc. */
void vg_arena_reset(struct vg_arena *arena);
/* Returns size bytes aligned for any type, or NULL when out of memory. */
void *vg_arena_alloc(struct vg_arena *arena, size_t size);
/* As vg_arena_alloc, zeroed. */
void *vg_arena_calloc(struct vg_arena *arena, size_t count, size_t size);
/* A NUL-terminated copy of s[0..len), or NULL. */
char *vg_arena_strndup(struct vg_arena *arena, const char *s, size_t len);
char *vg_arena_strdup(struct vg_arena *arena, const char *s);

#endif
