/* gen.c - seeded generator of benchmark input for `vigia screen`: NDJSON
 * travel, job-advert and premises records, a share of them carrying lures.
 *
 * vg_bench_gen --seed N --count N [--kind K] [--lure-rate R] > records.ndjson
 *
 * The same arguments give the same bytes on any platform and compiler (one
 * random draw per expression, no clock, no locale). Fields follow
 * rules/schemas/; observed_at runs through 2025 with a few hours of jitter.
 * Only libc is used, so bench/run and the tests can build it alone. */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Records stay far below the headroom, so one never straddles a flush and a
 * sentence written past the text limit can still be taken back. */
#define OUT_CAP ((size_t)1 << 20)
#define OUT_HEADROOM ((size_t)64 << 10)
#define TEXT_MIN 300
#define TEXT_MAX 700
#define NRECRUITERS 40
#define DAY 86400
/* 2025-01-01T00:00:00Z; records spread over the following year. */
#define T0 INT64_C(1735689600)
#define SPAN (INT64_C(365) * DAY)

/* ------------------------------------------------------------ randomness */

/* splitmix64: one word of state, fast, and varied enough for test data. */
struct rng {
  uint64_t state;
};

static uint64_t rng_next(struct rng *r) {
  uint64_t z = (r->state += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* Uniform in [0, n) by multiply-shift: no division on the hot path. */
static uint32_t rng_below(struct rng *r, uint32_t n) {
  return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static int rng_range(struct rng *r, int lo, int hi) {
  return lo + (int)rng_below(r, (uint32_t)(hi - lo + 1));
}

static double rng_unit(struct rng *r) {
  return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static bool rng_chance(struct rng *r, double p) {
  return rng_unit(r) < p;
}

/* A generator for data that must be the same wherever a key reappears (a
 * licence's venue, a recruiter's phone), independent of the record stream. */
static struct rng rng_keyed(uint64_t seed, uint64_t key) {
  struct rng r = {seed ^ (key * UINT64_C(0xd6e8feb86659fd93))};
  rng_next(&r);
  return r;
}

struct bank {
  const char *const *items;
  uint32_t n;
};

#define BANK(a)                                                                \
  { (a), (uint32_t)NELEM(a) }
#define PICK(r, a) ((a)[rng_below((r), (uint32_t)NELEM(a))])

static const char *bank_pick(struct rng *r, const struct bank *b) {
  return b->items[rng_below(r, b->n)];
}

/* ---------------------------------------------------------------- output */

struct out {
  char *buf;
  size_t len;
  FILE *fp;
  bool first;   /* the next key opens its object: no comma before it */
  bool uescape; /* in advert text, write é and ó as \u escapes */
  bool failed;
};

static void out_flush(struct out *o) {
  if (o->len > 0 && fwrite(o->buf, 1, o->len, o->fp) != o->len)
    o->failed = true;
  o->len = 0;
}

static void put(struct out *o, const char *s, size_t n) {
  assert(o->len + n <= OUT_CAP);
  memcpy(o->buf + o->len, s, n);
  o->len += n;
}

#define PUTS(o, lit) put((o), (lit), sizeof(lit) - 1)

static void put_char(struct out *o, char c) {
  assert(o->len < OUT_CAP);
  o->buf[o->len++] = c;
}

static void put_cstr(struct out *o, const char *s) {
  put(o, s, strlen(s));
}

static void put_uint(struct out *o, uint64_t v) {
  char tmp[20];
  size_t n = 0;
  do {
    tmp[sizeof tmp - ++n] = (char)('0' + v % 10);
    v /= 10;
  } while (v > 0);
  put(o, tmp + sizeof tmp - n, n);
}

/* Zero-padded to width digits (more when v needs them). */
static void put_uint_w(struct out *o, uint64_t v, int width) {
  char tmp[20];
  int n = 0;
  do {
    tmp[sizeof tmp - (size_t)++n] = (char)('0' + v % 10);
    v /= 10;
  } while (v > 0 || n < width);
  put(o, tmp + sizeof tmp - (size_t)n, (size_t)n);
}

/* A non-negative number with `places` decimals, trailing zeros kept. */
static void put_fixed(struct out *o, double v, int places) {
  uint64_t scale = 1;
  for (int i = 0; i < places; i++)
    scale *= 10;
  uint64_t x = (uint64_t)(v * (double)scale + 0.5);
  put_uint(o, x / scale);
  if (places > 0) {
    put_char(o, '.');
    put_uint_w(o, x % scale, places);
  }
}

/* Every string written unescaped comes from the banks below, which hold no
 * quote, backslash or control byte (checked by check_banks). */
static void put_qstr(struct out *o, const char *s) {
  put_char(o, '"');
  put_cstr(o, s);
  put_char(o, '"');
}

static void key(struct out *o, const char *k, size_t n) {
  if (!o->first)
    put_char(o, ',');
  o->first = false;
  put_char(o, '"');
  put(o, k, n);
  put_char(o, '"');
  put_char(o, ':');
}

#define KEY(o, lit) key((o), (lit), sizeof(lit) - 1)

static void open_obj(struct out *o, const char *k, size_t n) {
  key(o, k, n);
  put_char(o, '{');
  o->first = true;
}

#define OPEN(o, lit) open_obj((o), (lit), sizeof(lit) - 1)

static void close_obj(struct out *o) {
  put_char(o, '}');
  o->first = false;
}

#define KSTR(o, k, v) (KEY(o, k), put_qstr((o), (v)))
#define KINT(o, k, v) (KEY(o, k), put_uint((o), (uint64_t)(v)))
#define KBOOL(o, k, v) (KEY(o, k), ((v) ? PUTS(o, "true") : PUTS(o, "false")))
#define KFIXED(o, k, v, p) (KEY(o, k), put_fixed((o), (v), (p)))

/* ----------------------------------------------------------------- times */

/* Days since 1970-01-01 to a proleptic Gregorian date, counting in 400-year
 * eras of 146097 days with the year starting on 1 March. */
static void civil_from_days(int64_t days, int *year, int *month, int *day) {
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *day = (int)(doy - (153 * mp + 2) / 5 + 1);
  *month = m;
  *year = (int)(yoe + era * 400 + (m <= 2));
}

static int64_t floor_div(int64_t a, int64_t b) {
  return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static void put_date(struct out *o, int64_t secs) {
  int y, m, d;
  civil_from_days(floor_div(secs, DAY), &y, &m, &d);
  put_char(o, '"');
  put_uint_w(o, (uint64_t)y, 4);
  put_char(o, '-');
  put_uint_w(o, (uint64_t)m, 2);
  put_char(o, '-');
  put_uint_w(o, (uint64_t)d, 2);
  put_char(o, '"');
}

static void put_datetime(struct out *o, int64_t secs) {
  int64_t s = secs - floor_div(secs, DAY) * DAY;
  put_date(o, secs);
  o->len--; /* reopen the closing quote */
  put_char(o, 'T');
  put_uint_w(o, (uint64_t)(s / 3600), 2);
  put_char(o, ':');
  put_uint_w(o, (uint64_t)(s / 60 % 60), 2);
  put_char(o, ':');
  put_uint_w(o, (uint64_t)(s % 60), 2);
  PUTS(o, "Z\"");
}

#define KDATE(o, k, t) (KEY(o, k), put_date((o), (t)))
#define KTIME(o, k, t) (KEY(o, k), put_datetime((o), (t)))

/* ------------------------------------------------------------- countries */

enum lang { ES, PT, EN, NLANG };

static const char *const LANG_CODE[NLANG] = {"es", "pt", "en"};

struct place {
  const char *city, *state, *airport;
};

struct country {
  const char *iso3;
  enum lang lang;
  const char *currency;
  double per_usd;    /* local units per US dollar, fixed for the data set */
  double wage_index; /* median pay level against the occupation base */
  const char *dial;
  const char *phone_fmt; /* '#' any digit, '$' 2-9 */
  const char *tax_fmt;   /* '#' digit, '@' capital letter */
  const char *agency;
  struct place places[4];
};

static const struct country COUNTRIES[] = {
    {"COL",
     ES,
     "COP",
     4000,
     0.45,
     "+57",
     "3## ### ####",
     "9##.###.###-#",
     "Ministerio del Trabajo",
     {{"Bogotá", "Bogotá D.C.", "BOG"},
      {"Medellín", "Antioquia", "MDE"},
      {"Cali", "Valle del Cauca", "CLO"},
      {"Barranquilla", "Atlántico", "BAQ"}}},
    {"MEX",
     ES,
     "MXN",
     17,
     0.55,
     "+52",
     "$# #### ####",
     "@@@######@@#",
     "Secretaría del Trabajo y Previsión Social",
     {{"Ciudad de México", "Ciudad de México", "MEX"},
      {"Guadalajara", "Jalisco", "GDL"},
      {"Monterrey", "Nuevo León", "MTY"},
      {"Cancún", "Quintana Roo", "CUN"}}},
    {"BRA",
     PT,
     "BRL",
     5,
     0.5,
     "+55",
     "$# 9####-####",
     "##.###.###/0001-##",
     "Auditoria-Fiscal do Trabalho",
     {{"São Paulo", "SP", "GRU"},
      {"Rio de Janeiro", "RJ", "GIG"},
      {"Belo Horizonte", "MG", "CNF"},
      {"Recife", "PE", "REC"}}},
    {"ARG",
     ES,
     "ARS",
     900,
     0.5,
     "+54",
     "9 $# ####-####",
     "30-########-#",
     "Agencia Gubernamental de Control",
     {{"Buenos Aires", "Ciudad Autónoma de Buenos Aires", "EZE"},
      {"Córdoba", "Córdoba", "COR"},
      {"Rosario", "Santa Fe", "ROS"},
      {"Mendoza", "Mendoza", "MDZ"}}},
    {"PER",
     ES,
     "PEN",
     3.7,
     0.45,
     "+51",
     "9## ### ###",
     "20#########",
     "Superintendencia Nacional de Fiscalización Laboral",
     {{"Lima", "Lima", "LIM"},
      {"Arequipa", "Arequipa", "AQP"},
      {"Cusco", "Cusco", "CUZ"},
      {"Trujillo", "La Libertad", "TRU"}}},
    {"ECU",
     ES,
     "USD",
     1,
     0.5,
     "+593",
     "9# ### ####",
     "17########001",
     "Ministerio del Trabajo",
     {{"Quito", "Pichincha", "UIO"},
      {"Guayaquil", "Guayas", "GYE"},
      {"Cuenca", "Azuay", "CUE"},
      {"Manta", "Manabí", "MEC"}}},
    {"DOM",
     ES,
     "DOP",
     58,
     0.45,
     "+1",
     "809 $## ####",
     "1-##-#####-#",
     "Ministerio de Trabajo",
     {{"Santo Domingo", "Distrito Nacional", "SDQ"},
      {"Santiago de los Caballeros", "Santiago", "STI"},
      {"Punta Cana", "La Altagracia", "PUJ"},
      {"Puerto Plata", "Puerto Plata", "POP"}}},
    {"GTM",
     ES,
     "GTQ",
     7.8,
     0.45,
     "+502",
     "$### ####",
     "#######-#",
     "Inspección General de Trabajo",
     {{"Ciudad de Guatemala", "Guatemala", "GUA"},
      {"Quetzaltenango", "Quetzaltenango", "AAZ"},
      {"Flores", "Petén", "FRS"},
      {"Puerto Barrios", "Izabal", "PBR"}}},
    {"ESP",
     ES,
     "EUR",
     0.92,
     1.6,
     "+34",
     "6## ### ###",
     "B########",
     "Inspección de Trabajo y Seguridad Social",
     {{"Madrid", "Comunidad de Madrid", "MAD"},
      {"Barcelona", "Cataluña", "BCN"},
      {"Málaga", "Andalucía", "AGP"},
      {"Valencia", "Comunidad Valenciana", "VLC"}}},
    {"USA",
     EN,
     "USD",
     1,
     3.2,
     "+1",
     "$## $## ####",
     "##-#######",
     "Wage and Hour Division",
     {{"Miami", "FL", "MIA"},
      {"Houston", "TX", "IAH"},
      {"New York", "NY", "JFK"},
      {"Los Angeles", "CA", "LAX"}}},
    {"CHL",
     ES,
     "CLP",
     930,
     0.8,
     "+56",
     "9 #### ####",
     "76.###.###-#",
     "Dirección del Trabajo",
     {{"Santiago", "Región Metropolitana", "SCL"},
      {"Antofagasta", "Antofagasta", "ANF"},
      {"Concepción", "Biobío", "CCP"},
      {"Iquique", "Tarapacá", "IQQ"}}},
    {"PRY",
     ES,
     "PYG",
     7300,
     0.45,
     "+595",
     "9## ### ###",
     "80######-#",
     "Ministerio de Trabajo, Empleo y Seguridad Social",
     {{"Asunción", "Central", "ASU"},
      {"Ciudad del Este", "Alto Paraná", "AGT"},
      {"Encarnación", "Itapúa", "ENO"},
      {"Pedro Juan Caballero", "Amambay", "PJC"}}},
};

#define NCOUNTRIES ((uint32_t)NELEM(COUNTRIES))

static const struct country *pick_country(struct rng *r) {
  return &COUNTRIES[rng_below(r, NCOUNTRIES)];
}

static const struct country *other_country(struct rng *r,
                                           const struct country *not_this) {
  const struct country *c = &COUNTRIES[rng_below(r, NCOUNTRIES - 1)];
  return c >= not_this ? c + 1 : c;
}

static const struct place *pick_place(struct rng *r, const struct country *c) {
  return &c->places[rng_below(r, 4)];
}

/* --------------------------------------------------------------- phones */

struct phone {
  char text[40];
  uint8_t len;
  uint8_t local; /* offset of the number after the country code */
};

static void fill_pattern(struct rng *r, const char *fmt, char *dst,
                         size_t *len) {
  for (const char *p = fmt; *p; p++) {
    char c = *p;
    if (c == '#')
      c = (char)('0' + rng_below(r, 10));
    else if (c == '$')
      c = (char)('2' + rng_below(r, 8));
    else if (c == '@')
      c = (char)('A' + rng_below(r, 26));
    dst[(*len)++] = c;
  }
}

/* The same key gives the same number, so pooled phones recur across kinds. */
static void phone_make(const struct country *c, uint64_t seed, uint64_t key,
                       struct phone *ph) {
  struct rng r = rng_keyed(seed, key);
  size_t n = strlen(c->dial);
  memcpy(ph->text, c->dial, n);
  ph->text[n++] = ' ';
  ph->local = (uint8_t)n;
  fill_pattern(&r, c->phone_fmt, ph->text, &n);
  assert(n < sizeof ph->text);
  ph->len = (uint8_t)n;
}

static void put_phone(struct out *o, const struct phone *ph) {
  put_char(o, '"');
  put(o, ph->text, ph->len);
  put_char(o, '"');
}

/* ----------------------------------------------------------------- names */

static const char *const GIVEN_F_ES[] = {
    "María",    "Ana",    "Luisa",    "Carolina", "Daniela", "Valentina",
    "Sofía",    "Camila", "Paola",    "Andrea",   "Yuliana", "Lucía",
    "Fernanda", "Ximena", "Gabriela", "Natalia",  "Leidy",   "Yesenia"};
static const char *const GIVEN_M_ES[] = {
    "José",   "Juan",     "Carlos",    "Andrés", "Luis",  "Jorge",
    "Miguel", "Santiago", "Sebastián", "Diego",  "Óscar", "Julián",
    "Mateo",  "Felipe",   "Wilson",    "Édgar"};
static const char *const GIVEN_F_PT[] = {
    "Ana",    "Maria",   "Juliana",  "Fernanda", "Beatriz",  "Larissa",
    "Camila", "Letícia", "Gabriela", "Aline",    "Patrícia", "Vitória"};
static const char *const GIVEN_M_PT[] = {
    "João",    "Pedro",  "Lucas",   "Gabriel", "Rafael", "Thiago",
    "Matheus", "Felipe", "Antônio", "Marcos",  "Luís",   "Caio"};
static const char *const GIVEN_F_EN[] = {"Emily",  "Jessica", "Ashley",
                                         "Sarah",  "Megan",   "Olivia",
                                         "Hannah", "Rachel",  "Lauren"};
static const char *const GIVEN_M_EN[] = {"Michael", "David",  "James",
                                         "Robert",  "Daniel", "Kevin",
                                         "Brian",   "Ryan",   "Tyler"};
static const char *const SURNAME_ES[] = {
    "García",    "Rodríguez", "Martínez", "López",   "González", "Hernández",
    "Pérez",     "Sánchez",   "Ramírez",  "Torres",  "Flores",   "Rivera",
    "Gómez",     "Díaz",      "Reyes",    "Morales", "Cruz",     "Ortiz",
    "Gutiérrez", "Chávez",    "Ramos",    "Vargas",  "Castillo", "Jiménez",
    "Rojas",     "Muñoz",     "Herrera",  "Medina",  "Aguilar",  "Quispe",
    "Mamani",    "Peña"};
static const char *const SURNAME_PT[] = {
    "Silva",   "Santos",   "Oliveira", "Souza",    "Rodrigues", "Ferreira",
    "Alves",   "Pereira",  "Lima",     "Gomes",    "Costa",     "Ribeiro",
    "Martins", "Carvalho", "Araújo",   "Conceição"};
static const char *const SURNAME_EN[] = {
    "Smith", "Johnson", "Williams", "Brown",  "Jones",  "Miller",
    "Davis", "Wilson",  "Anderson", "Taylor", "Thomas", "Moore"};

static const struct bank GIVEN_F[NLANG] = {BANK(GIVEN_F_ES), BANK(GIVEN_F_PT),
                                           BANK(GIVEN_F_EN)};
static const struct bank GIVEN_M[NLANG] = {BANK(GIVEN_M_ES), BANK(GIVEN_M_PT),
                                           BANK(GIVEN_M_EN)};
static const struct bank SURNAME[NLANG] = {BANK(SURNAME_ES), BANK(SURNAME_PT),
                                           BANK(SURNAME_EN)};

struct person {
  const char *given[2]; /* second may be NULL */
  const char *surname[2];
};

static void person_make(struct rng *r, enum lang lang, bool female,
                        const char *family, struct person *p) {
  const struct bank *g = female ? &GIVEN_F[lang] : &GIVEN_M[lang];
  p->given[0] = bank_pick(r, g);
  p->given[1] = rng_chance(r, 0.3) ? bank_pick(r, g) : NULL;
  if (p->given[1] == p->given[0])
    p->given[1] = NULL;
  p->surname[0] = family ? family : bank_pick(r, &SURNAME[lang]);
  /* Spanish speakers carry both family names on documents. */
  p->surname[1] =
      lang == ES && rng_chance(r, 0.7) ? bank_pick(r, &SURNAME[lang]) : NULL;
}

static void put_parts(struct out *o, const char *const parts[2]) {
  put_cstr(o, parts[0]);
  if (parts[1]) {
    put_char(o, ' ');
    put_cstr(o, parts[1]);
  }
}

static void put_fullname(struct out *o, const struct person *p) {
  put_char(o, '"');
  put_parts(o, p->given);
  put_char(o, ' ');
  put_parts(o, p->surname);
  put_char(o, '"');
}

/* People and firms the rule set's watchlist knows, each with a spelling
 * variant a booking clerk or a scraper might produce. */
static const char *const RECRUITER_NAME[] = {
    "Rosa Elvira Castaño",
    "Jhon Fredy Ortiz Gómez",
    "Marlene Patricia Sosa",
    "Wilmer Andrés Quintero",
    "Edilberto Cárdenas Ruiz",
    "Sandra Liliana Mora",
    "Luz Dary Henao",
    "Francisco Javier Mejía",
    "Yésica Paola Rangel",
    "Márcia Regina Alves",
    "Josué Ferreira da Silva",
    "Talentos Sin Fronteras S.A.S.",
    "Agencia Internacional Sueños de Éxito",
    "Modelos Internacionales VIP",
    "Global Star Recruitment",
    "Raúl Antonio Benítez"};
static const char *const RECRUITER_VARIANT[] = {
    "Rosa Elvira Castano",
    "John Fredy Ortiz Gomez",
    "Marlen Patricia Sosa",
    "Wilmer Andres Kintero",
    "Edilberto Cardenas Ruis",
    "Sandra Lilian Mora",
    "Luz Darly Henao",
    "Francisco J. Mejia",
    "Jessica Paola Rangel",
    "Marcia Regina Alvez",
    "Josue Ferreira Silva",
    "Talento sin Fronteras SAS",
    "Agencia Internacional Sueños y Éxito",
    "Modelos Internacional VIP",
    "Global Stars Recruitment",
    "Raul A. Benitez"};
/* The first RECRUITER_PEOPLE names are people, the rest firms. */
#define RECRUITER_PEOPLE 11

struct recruiter {
  uint32_t name;
  const struct country *country;
  struct phone phone;
};

static const char *recruiter_name(struct rng *r, const struct recruiter *rc) {
  return rng_chance(r, 0.35) ? RECRUITER_VARIANT[rc->name]
                             : RECRUITER_NAME[rc->name];
}

/* -------------------------------------------------------------- addresses */

static const char *const STREET_ES[] = {"Calle",       "Carrera", "Avenida",
                                        "Jirón",       "Pasaje",  "Diagonal",
                                        "Transversal", "Av."};
static const char *const STREET_NAME_ES[] = {
    "Bolívar",       "San Martín", "Libertad", "Los Pinos",
    "Independencia", "Colón",      "Sucre",    "Las Flores",
    "Juárez",        "del Río",    "Central",  "Primero de Mayo"};
static const char *const STREET_PT[] = {"Rua", "Avenida", "Travessa",
                                        "Alameda"};
static const char *const STREET_NAME_PT[] = {
    "Augusta",       "das Flores",       "Santos Dumont",  "XV de Novembro",
    "da Consolação", "Sete de Setembro", "Getúlio Vargas", "do Comércio"};
static const char *const STREET_NAME_EN[] = {
    "Main St",         "Ocean Dr", "Park Ave", "Elm St",
    "Washington Blvd", "2nd Ave",  "Bay Rd",   "Sunset Blvd"};

static void put_street(struct out *o, struct rng *r, enum lang lang) {
  if (lang == EN) {
    put_uint(o, (uint64_t)rng_range(r, 10, 9999));
    put_char(o, ' ');
    put_cstr(o, PICK(r, STREET_NAME_EN));
  } else if (lang == PT) {
    put_cstr(o, PICK(r, STREET_PT));
    put_char(o, ' ');
    put_cstr(o, PICK(r, STREET_NAME_PT));
    PUTS(o, ", ");
    put_uint(o, (uint64_t)rng_range(r, 1, 3999));
  } else if (rng_chance(r, 0.5)) {
    put_cstr(o, PICK(r, STREET_ES));
    put_char(o, ' ');
    put_uint(o, (uint64_t)rng_range(r, 1, 180));
    PUTS(o, " # ");
    put_uint(o, (uint64_t)rng_range(r, 1, 120));
    put_char(o, '-');
    put_uint(o, (uint64_t)rng_range(r, 1, 99));
  } else {
    put_cstr(o, PICK(r, STREET_ES));
    put_char(o, ' ');
    put_cstr(o, PICK(r, STREET_NAME_ES));
    put_char(o, ' ');
    put_uint(o, (uint64_t)rng_range(r, 1, 4999));
  }
}

/* ------------------------------------------------------------- the state */

struct gen {
  struct rng rng;
  struct out out;
  uint64_t seed;
  uint64_t count;
  double lure_rate;
  uint32_t licence_pool;
  struct recruiter recruiters[NRECRUITERS];
};

static void put_id(struct out *o, const char *prefix, uint64_t index) {
  KEY(o, "id");
  put_char(o, '"');
  put_cstr(o, prefix);
  put_uint_w(o, index, 10);
  put_char(o, '"');
}

/* ---------------------------------------------------------------- travel */

static const char *const CARRIERS[] = {"AV", "LA", "CM", "AM", "AR", "IB",
                                       "UX", "AA", "UA", "G3", "JA", "H2",
                                       "P5", "VB", "DM", "4O"};
static const char *const SPECIAL_REQUESTS[] = {"VGML",
                                               "WCHR",
                                               "Asiento de pasillo",
                                               "Comida sin gluten",
                                               "MOML",
                                               "Refeição vegetariana",
                                               "Extra legroom"};
static const char *const ALNUM = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

static void put_code(struct out *o, struct rng *r, int n) {
  for (int i = 0; i < n; i++)
    put_char(o, ALNUM[rng_below(r, 32)]);
}

/* Ages of passengers: children, then a wide adult hump out to 80. */
static int passenger_age(struct rng *r, bool minor) {
  if (minor)
    return rng_range(r, 0, 17);
  /* One draw per statement: operand order is unspecified in C, and the
   * bytes must not depend on the compiler. */
  int age = 18 + (int)rng_below(r, 36);
  return age + (int)rng_below(r, 28);
}

static void put_companions(struct out *o, struct rng *r, enum lang lang, int n,
                           const char *family) {
  KEY(o, "companions");
  put_char(o, '[');
  for (int i = 0; i < n; i++) {
    struct person p;
    if (i > 0)
      put_char(o, ',');
    person_make(r, lang, rng_chance(r, 0.5), family, &p);
    put_fullname(o, &p);
  }
  put_char(o, ']');
}

static void gen_travel(struct gen *g, uint64_t index, int64_t t, bool lure) {
  struct rng *r = &g->rng;
  struct out *o = &g->out;
  uint32_t roll = rng_below(r, 1000);
  const char *role = roll < 900   ? "passenger"
                     : roll < 960 ? "crew"
                     : roll < 985 ? "transit_passenger"
                                  : "transit_crew";
  bool crew = role[0] == 'c' || strcmp(role, "transit_crew") == 0;
  if (crew)
    lure = false;
  /* Lures: a third party controls an adult's trip, or a minor travels
   * without a guardian. */
  bool lure_minor = lure && rng_chance(r, 0.3);
  bool minor = !crew && (lure_minor || (!lure && rng_chance(r, 0.11)));
  int age = crew ? rng_range(r, 21, 62) : passenger_age(r, minor);
  bool female = lure && !minor ? rng_chance(r, 0.75) : rng_chance(r, 0.5);

  const struct country *from = pick_country(r);
  const struct place *dep = pick_place(r, from);
  bool abroad = rng_chance(r, 0.7);
  const struct country *to = abroad ? other_country(r, from) : from;
  const struct place *arr = pick_place(r, to);
  if (arr == dep)
    arr = &to->places[(arr - to->places + 1) % 4];
  const struct country *nat = rng_chance(r, 0.85) ? from : pick_country(r);
  const struct recruiter *rc = &g->recruiters[rng_below(r, NRECRUITERS)];
  struct person self;
  person_make(r, nat->lang, female, NULL, &self);

  PUTS(o, "{\"kind\":\"travel\"");
  o->first = false;
  put_id(o, "tr-", index);
  const char *carrier = PICK(r, CARRIERS);
  /* Passenger lists (PAXLST) carry no payer or contact: those come only
   * with booking exports, which is where every lure is. */
  bool paxlst = crew || (!lure && rng_chance(r, 0.75));
  KEY(o, "source");
  if (paxlst) {
    PUTS(o, "\"paxlst-");
    put_cstr(o, carrier);
    put_char(o, '"');
  } else {
    PUTS(o, "\"pnr-export\"");
  }
  KTIME(o, "observed_at", t);

  OPEN(o, "traveller");
  KSTR(o, "role", role);
  KEY(o, "surname");
  put_char(o, '"');
  put_parts(o, self.surname);
  put_char(o, '"');
  KEY(o, "given_names");
  put_char(o, '"');
  put_parts(o, self.given);
  put_char(o, '"');
  KSTR(o, "sex", rng_chance(r, 0.002) ? "X" : female ? "F" : "M");
  int64_t birth = t - (int64_t)age * 365 * DAY - (int64_t)(age / 4) * DAY -
                  (int64_t)rng_below(r, 364) * DAY;
  KDATE(o, "birth_date", birth);
  KSTR(o, "nationality", nat->iso3);
  KSTR(o, "birth_place", pick_place(r, nat)->city);
  KSTR(o, "residence_country",
       rng_chance(r, 0.9) ? nat->iso3 : pick_country(r)->iso3);
  if (!crew && rng_chance(r, 0.8)) {
    KEY(o, "address");
    put_char(o, '"');
    put_street(o, r, nat->lang);
    PUTS(o, ", ");
    put_cstr(o, pick_place(r, nat)->city);
    put_char(o, '"');
  }
  KSTR(o, "port_embark", dep->airport);
  KSTR(o, "port_debark", arr->airport);
  if (!crew) {
    KEY(o, "seat");
    put_char(o, '"');
    put_uint(o, (uint64_t)rng_range(r, 1, 45));
    put_char(o, "ABCDEF"[rng_below(r, 6)]);
    put_char(o, '"');
  }
  OPEN(o, "document");
  KSTR(o, "type", !abroad && rng_chance(r, 0.5) ? "I" : "P");
  KEY(o, "number");
  put_char(o, '"');
  put_char(o, (char)('A' + rng_below(r, 26)));
  put_char(o, (char)('A' + rng_below(r, 26)));
  put_uint_w(o, rng_below(r, 10000000), 7);
  put_char(o, '"');
  KSTR(o, "issuing_country", nat->iso3);
  KDATE(o, "expiry", t + (int64_t)rng_range(r, 20, 3650) * DAY);
  close_obj(o);
  bool guardian = minor && !lure_minor && rng_chance(r, 0.95);
  if (minor)
    KBOOL(o, "guardian_link", guardian);
  close_obj(o);

  if (paxlst && !crew) {
    OPEN(o, "booking");
    KEY(o, "reference");
    put_char(o, '"');
    put_code(o, r, 6);
    put_char(o, '"');
    close_obj(o);
  } else if (!paxlst) {
    /* A child's ticket is bought by a parent; an adult mostly pays alone. */
    bool payer_self = !minor && !lure && rng_chance(r, 0.88);
    int lead = lure ? rng_range(r, 0, 2)
                    : 1 + (int)rng_below(r, 60) + (int)rng_below(r, 60);
    int companions = lure && !minor       ? rng_range(r, 1, 5)
                     : minor              ? rng_range(r, 0, 2)
                     : rng_chance(r, 0.6) ? 0
                                          : rng_range(r, 1, 3);
    int adults;
    if (lure_minor)
      adults = rng_chance(r, 0.5) ? 0 : 1;
    else if (minor)
      adults = rng_chance(r, 0.12) ? 0 : rng_range(r, 1, 2);
    else
      adults = 1 + (companions > 0 ? rng_range(r, 0, companions) : 0);
    struct person payer;
    person_make(r, nat->lang, rng_chance(r, 0.5), self.surname[0], &payer);
    struct phone payer_phone, contact_phone;
    phone_make(nat, g->seed, rng_next(r), &payer_phone);

    OPEN(o, "booking");
    KEY(o, "reference");
    put_char(o, '"');
    put_code(o, r, 6);
    put_char(o, '"');
    KEY(o, "passenger_ref");
    put_char(o, '"');
    put_uint(o, (uint64_t)rng_range(r, 1, 1 + companions));
    put_char(o, '"');
    KTIME(o, "booked_at",
          t - (int64_t)lead * DAY - (int64_t)rng_below(r, DAY / 2));
    KBOOL(o, "one_way", rng_chance(r, lure ? 0.85 : 0.2));
    uint32_t pay = rng_below(r, 100);
    KSTR(o, "payment_method",
         lure ? (pay < 65   ? "cash"
                 : pay < 85 ? "transfer"
                            : "card")
              : (pay < 82   ? "card"
                 : pay < 90 ? "transfer"
                 : pay < 96 ? "cash"
                            : "voucher"));
    KBOOL(o, "payer_is_traveller", payer_self);
    OPEN(o, "payer");
    KEY(o, "name");
    if (payer_self)
      put_fullname(o, &self);
    else if (lure)
      put_qstr(o, recruiter_name(r, rc));
    else
      put_fullname(o, &payer);
    KEY(o, "phone");
    put_phone(o, lure && !payer_self ? &rc->phone : &payer_phone);
    close_obj(o);
    OPEN(o, "contact");
    bool contact_rc = lure && rng_chance(r, 0.8);
    KEY(o, "name");
    if (contact_rc)
      put_qstr(o, recruiter_name(r, rc));
    else
      put_fullname(o, payer_self ? &self : &payer);
    if (contact_rc)
      contact_phone = rc->phone;
    else
      contact_phone = payer_phone;
    KEY(o, "phone");
    put_phone(o, &contact_phone);
    if (rng_chance(r, 0.7)) {
      KEY(o, "email");
      put_char(o, '"');
      put_cstr(o, contact_rc ? "reservas.viajes" : "pasajero");
      put_uint(o, rng_below(r, 10000));
      put_cstr(o, rng_chance(r, 0.5) ? "@gmail.com\"" : "@hotmail.com\"");
    }
    close_obj(o);
    KINT(o, "adults", adults);
    KBOOL(o, "unaccompanied_minor_service",
          minor && adults == 0 && !lure_minor);
    put_companions(o, r, nat->lang, companions, lure ? NULL : self.surname[0]);
    if (rng_chance(r, 0.08))
      KSTR(o, "special_requests", PICK(r, SPECIAL_REQUESTS));
    close_obj(o);

    if (lure ? rng_chance(r, 0.5) : rng_chance(r, 0.03)) {
      struct phone sp;
      if (!lure)
        phone_make(to, g->seed, rng_next(r), &sp);
      OPEN(o, "sponsor");
      KEY(o, "phone");
      put_phone(o, lure ? &rc->phone : &sp);
      close_obj(o);
    }
  }

  OPEN(o, "flight");
  KSTR(o, "carrier", carrier);
  KEY(o, "number");
  put_char(o, '"');
  put_cstr(o, carrier);
  put_uint(o, (uint64_t)rng_range(r, 10, 9899));
  put_char(o, '"');
  KSTR(o, "departure_port", dep->airport);
  KSTR(o, "arrival_port", arr->airport);
  KTIME(o, "departure_at", t);
  KTIME(o, "arrival_at", t + (int64_t)rng_range(r, 50, 720) * 60);
  close_obj(o);
  PUTS(o, "}\n");
}

/* ------------------------------------------------------------ job adverts */

struct occupation {
  const char *word[NLANG];   /* the feed's normalised occupation */
  const char *plural[NLANG]; /* as an advert asks for them */
  double base_usd;           /* median monthly pay at wage index 1 */
  bool risky;                /* hostess, dancer, ...: lures favour these */
  bool live_in;
};

static const struct occupation OCCUPATIONS[] = {
    {{"mesero", "garçom", "waiter"},
     {"meseros", "garçons", "waiters"},
     600,
     false,
     false},
    {{"cocinero", "cozinheiro", "cook"},
     {"cocineros", "cozinheiros", "cooks"},
     700,
     false,
     false},
    {{"vendedor", "vendedor", "sales assistant"},
     {"vendedores", "vendedores", "sales assistants"},
     620,
     false,
     false},
    {{"recepcionista", "recepcionista", "receptionist"},
     {"recepcionistas", "recepcionistas", "receptionists"},
     650,
     false,
     false},
    {{"conductor", "motorista", "driver"},
     {"conductores", "motoristas", "drivers"},
     750,
     false,
     false},
    {{"operario de bodega", "operador de armazém", "warehouse operator"},
     {"operarios de bodega", "operadores de armazém", "warehouse operators"},
     640,
     false,
     false},
    {{"empleada doméstica", "empregada doméstica", "domestic worker"},
     {"empleadas domésticas", "empregadas domésticas", "domestic workers"},
     480,
     false,
     true},
    {{"cuidadora", "cuidadora de idosos", "caregiver"},
     {"cuidadoras de adultos mayores", "cuidadoras de idosos", "caregivers"},
     520,
     false,
     true},
    {{"niñera", "babá", "nanny"},
     {"niñeras", "babás", "nannies"},
     500,
     false,
     true},
    {{"camarera de hotel", "camareira", "housekeeper"},
     {"camareras de hotel", "camareiras de hotel", "hotel housekeepers"},
     560,
     false,
     false},
    {{"recolector agrícola", "trabalhador rural", "farm worker"},
     {"recolectores agrícolas", "trabalhadores rurais", "farm workers"},
     450,
     false,
     false},
    {{"obrero de construcción", "pedreiro", "construction worker"},
     {"obreros de construcción", "pedreiros", "construction workers"},
     680,
     false,
     false},
    {{"guardia de seguridad", "vigilante", "security guard"},
     {"guardias de seguridad", "vigilantes", "security guards"},
     620,
     false,
     false},
    {{"costurera", "costureira", "seamstress"},
     {"costureras", "costureiras", "seamstresses"},
     500,
     false,
     false},
    {{"auxiliar contable", "auxiliar de contabilidade", "accounting clerk"},
     {"auxiliares contables", "auxiliares de contabilidade",
      "accounting clerks"},
     900,
     false,
     false},
    {{"desarrollador", "desenvolvedor", "software developer"},
     {"desarrolladores de software", "desenvolvedores de software",
      "software developers"},
     1800,
     false,
     false},
    {{"enfermera", "enfermeira", "nurse"},
     {"enfermeras", "enfermeiras", "nurses"},
     1100,
     false,
     false},
    {{"anfitriona", "anfitriã", "hostess"},
     {"anfitrionas", "anfitriãs", "hostesses"},
     600,
     true,
     false},
    {{"bailarina", "dançarina", "dancer"},
     {"bailarinas", "dançarinas", "dancers"},
     700,
     true,
     false},
    {{"masajista", "massagista", "massage therapist"},
     {"masajistas", "massagistas", "massage therapists"},
     650,
     true,
     false},
    {{"modelo", "modelo", "model"},
     {"modelos", "modelos", "models"},
     800,
     true,
     false},
    {{"edecán", "promotora", "promoter"},
     {"edecanes", "promotoras", "promoters"},
     550,
     true,
     false},
};

#define NOCCUPATIONS ((uint32_t)NELEM(OCCUPATIONS))
#define FIRST_RISKY 17

struct employer {
  const char *name, *domain;
};

static const struct employer EMPLOYERS[] = {
    {"Comercializadora Andina S.A.S.", "comercializadora-andina.example"},
    {"Hoteles Costa Azul", "hotelescostaazul.example"},
    {"Restaurantes El Buen Sabor", "elbuensabor.example"},
    {"Logística del Pacífico", "logisticapacifico.example"},
    {"Construcciones Horizonte", "construccioneshorizonte.example"},
    {"Servicios Integrales Omega", "omega-servicios.example"},
    {"Clínica Santa Lucía", "clinicasantalucia.example"},
    {"Distribuidora La Montaña", "lamontana.example"},
    {"Textiles San Miguel", "textilessanmiguel.example"},
    {"Agroindustrial Los Andes", "agrolosandes.example"},
    {"Seguridad Centinela Ltda.", "centinela.example"},
    {"Soluciones Digitales Nova", "novadigital.example"},
    {"Construtora Horizonte Ltda.", "construtorahorizonte.example"},
    {"Hotel Mar Azul", "hotelmarazul.example"},
    {"Transportes Rápido Sul", "rapidosul.example"},
    {"Clínica Bem Estar", "bemestar.example"},
    {"Sunrise Hospitality LLC", "sunrisehospitality.example"},
    {"Bluewater Logistics", "bluewater.example"},
    {"Greenfield Farms", "greenfieldfarms.example"},
    {"Brightpath Software", "brightpath.example"},
};
static const char *const SHADY_EMPLOYERS[] = {
    "Agencia de Empleos Internacionales",
    "Inversiones La Fortuna",
    "Oportunidades Globales",
    "Empresa Confidencial",
    "Agência Sonho Internacional",
    "Elite Models Worldwide",
    "Grupo Empresarial Dorado",
    "Club Privado Las Vegas"};
static const char *const HR_MAILBOXES[] = {
    "rrhh",    "empleos", "seleccion", "talento.humano", "vagas", "rh",
    "careers", "jobs",    "hr"};
static const char *const FREE_MAILBOXES[] = {
    "trabajo.exterior", "ofertas.laborales", "agencia.talentos",
    "empleos.vip",      "vagas.exterior",    "jobs.abroad",
    "modelos.intl",     "reclutamiento",     "chicas.trabajo"};
static const char *const FREE_MAIL[] = {"gmail.com",    "hotmail.com",
                                        "outlook.com",  "yahoo.com",
                                        "yahoo.com.mx", "hotmail.es"};
static const char *const SITES[] = {
    "empleos-ya.example",         "trabajos-hoy.example",
    "vagas-agora.example",        "jobs-board.example",
    "clasificados-norte.example", "social-group.example",
    "avisos-gratis.example"};
static const char *const PERIOD_CODE[4] = {"month", "week", "day", "hour"};
static const double PERIOD_PER_MONTH[4] = {1, 4.33, 26, 208};
static const char *const PERIOD_WORD[NLANG][4] = {
    {"mensuales", "semanales", "diarios", "por hora"},
    {"por mês", "por semana", "por dia", "por hora"},
    {"a month", "a week", "a day", "an hour"}};
static const char *const DIGIT_WORD[NLANG][10] = {
    {"cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho",
     "nueve"},
    {"zero", "um", "dois", "três", "quatro", "cinco", "seis", "sete", "oito",
     "nove"},
    {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
     "nine"}};

/* Advert templates. Slots: {o} occupation (plural), {c} city of the advert,
 * {w} city of the work, {s} pay, {p} pay period, {e} employer, {t} phone,
 * {T} phone spelt to evade scrapers, {m} e-mail (or phone), {f} fee. */
static const char *const TITLE_ES[] = {
    "Se busca {o} en {c}", "Vacante: {o} - {c}", "{e} contrata {o}",
    "Oferta de empleo para {o}", "Se solicitan {o} para {c}"};
static const char *const TITLE_PT[] = {
    "Vaga para {o} em {c}", "{e} contrata {o}", "Oportunidade: {o} - {c}"};
static const char *const TITLE_EN[] = {"Hiring {o} in {c}", "{e} is hiring {o}",
                                       "Job opening: {o} ({c})"};
static const char *const LURE_TITLE_ES[] = {
    "Trabajo en {w} para {o}, viaje pagado", "URGENTE: {o} para {w}",
    "Se solicitan {o}, excelente pago", "Oportunidad única en {w}"};
static const char *const LURE_TITLE_PT[] = {
    "Trabalho em {w} para {o}, passagem paga", "URGENTE: {o} para {w}",
    "Vagas para {o} com ótimo salário"};
static const char *const LURE_TITLE_EN[] = {"{o} needed in {w}, travel paid",
                                            "URGENT: {o} for {w}",
                                            "Great pay for {o} abroad"};

static const char *const OPENER_ES[] = {
    "Importante empresa del sector busca {o} para trabajar en {w}.",
    "{e} está en búsqueda de {o} con ganas de crecer, para su sede de {w}.",
    "Estamos contratando {o} en {w}. Únete a nuestro equipo de trabajo.",
    "Empresa con más de 15 años en el mercado requiere {o} para {w}.",
    "Reconocida compañía de {c} abre convocatoria para {o}.",
    "¿Buscas empleo estable? {e} necesita {o} en {w}."};
static const char *const OPENER_PT[] = {
    "Empresa do setor contrata {o} para atuar em {w}.",
    "{e} está contratando {o} para a unidade de {w}.",
    "Venha fazer parte da nossa equipe: vagas para {o} em {w}.",
    "Empresa consolidada no mercado busca {o} em {w}."};
static const char *const OPENER_EN[] = {
    "We are hiring {o} for our team in {w}.",
    "{e} is looking for motivated {o} to join our site in {w}.",
    "Established company in {c} has openings for {o}.",
    "Join {e}: full-time positions for {o} in {w}."};

static const char *const BODY_ES[] = {
    "Funciones: atención al cliente, manejo de caja y apoyo en inventario.",
    "Responsable del área y de cumplir los protocolos de calidad.",
    "Se ofrece capacitación continua y buen ambiente laboral.",
    "Horario de lunes a sábado, turnos rotativos de ocho horas.",
    "Contrato a término indefinido con todas las prestaciones de ley.",
    "Pago quincenal y afiliación a seguridad social desde el primer día.",
    "Requisitos: bachillerato y experiencia mínima de un año.",
    "Indispensable documentación en regla y referencias laborales.",
    "Entrevistas los martes y jueves de 9:00 a 12:00 en nuestras oficinas.",
    "Salario de {s} {p}, más comisiones por cumplimiento de metas.",
    "Buscamos personas responsables, puntuales y con actitud de servicio.",
    "Se valorará conocimiento en manejo de herramientas ofimáticas.",
    "Ofrecemos estabilidad, plan de carrera y bonificaciones semestrales.",
    "Disponibilidad para trabajar fines de semana y festivos.",
    "El proceso de selección incluye prueba técnica y entrevista personal.",
    "Ubicación: zona norte de {w}, con fácil acceso en transporte público.",
    "Remuneración: {s} {p} según experiencia.",
    "Dotación y uniforme a cargo de la empresa."};
static const char *const BODY_PT[] = {
    "Atividades: atendimento ao cliente e controle de estoque.",
    "Oferecemos vale-transporte, vale-refeição e plano de saúde.",
    "Carteira assinada e todos os benefícios previstos em lei.",
    "Horário de segunda a sábado, escala de seis por um.",
    "Requisitos: ensino médio completo e experiência de seis meses na função.",
    "Salário de {s} {p}, mais comissão.",
    "Procuramos pessoas comprometidas, pontuais e com boa comunicação.",
    "Processo seletivo com entrevista presencial na nossa unidade de {w}.",
    "Possibilidade de crescimento e treinamento contínuo.",
    "Disponibilidade para trabalhar aos fins de semana.",
    "Uniforme fornecido pela empresa."};
static const char *const BODY_EN[] = {
    "Duties include customer service and stock control.",
    "Full-time position with paid training and health insurance.",
    "Pay: {s} {p}, plus overtime after 40 hours.",
    "At least one year of experience in a similar role is required.",
    "We offer a friendly team, weekly schedules and room to grow.",
    "Must be able to work weekends and holidays.",
    "Background check and references required before the start date.",
    "Interviews are held on site in {w} every Tuesday.",
    "Uniforms and safety equipment provided.",
    "Paid time off and a retirement plan after 90 days."};
static const char *const CLOSING_ES[] = {
    "Interesados enviar hoja de vida a {m} o llamar al {t}.",
    "Más información al {t}.", "Postúlate en línea o escribe a {m}.",
    "Envía tu hoja de vida a {m}."};
static const char *const CLOSING_PT[] = {
    "Interessados enviar currículo para {m} ou ligar {t}.",
    "Mais informações pelo {t}.", "Candidate-se pelo e-mail {m}."};
static const char *const CLOSING_EN[] = {
    "Apply with your CV to {m}.", "Call {t} for details.",
    "Send your resume to {m} or call {t}."};
/* Weak signals that also appear in ordinary adverts. */
static const char *const WEAK_ES[] = {
    "Contratación inmediata.",
    "Se ofrece alojamiento para personal de temporada."};
static const char *const WEAK_PT[] = {"Contratação imediata.",
                                      "Alojamento para safra incluso."};
static const char *const WEAK_EN[] = {"Immediate start available.",
                                      "Seasonal housing available."};

/* Every lure advert carries one of these; ordinary adverts none. */
static const char *const CORE_LURE_ES[] = {
    "¡Viaje pagado y hospedaje incluido!",
    "Viaje pagado a {w}, nosotros cubrimos todo.",
    "Sin experiencia, te capacitamos desde el primer día.",
    "No se requiere experiencia: hospedaje incluido y alimentación.",
    "Contacto solo WhatsApp {t}, no contestamos llamadas."};
static const char *const CORE_LURE_PT[] = {
    "Passagem paga e alojamento garantido!",
    "Sem experiência? Sem problema, treinamos você.",
    "Passagem paga para {w}, embarque imediato.",
    "Atendimento somente pelo WhatsApp {t}."};
static const char *const CORE_LURE_EN[] = {
    "Travel paid, accommodation included.",
    "No experience needed, we train you on arrival.",
    "Travel paid to {w}, all arranged by our agency.",
    "Contact by WhatsApp only: {t}."};
static const char *const LURE_ES[] = {
    "Contratación inmediata, sin entrevista.",
    "Gana hasta {s} {p} desde la primera semana.",
    "Se cobra inscripción de {f} para trámites y uniforme.",
    "Te adelantamos el pasaje y se descuenta del sueldo.",
    "Envía foto de tu pasaporte y cédula para reservar tu cupo.",
    "Trabajo en el exterior, cupos limitados.",
    "Hospedaje incluido en la misma casa del trabajo."};
static const char *const LURE_PT[] = {
    "Contratação imediata, sem entrevista.",
    "Ganhe até {s} {p} já no primeiro mês.",
    "Taxa de inscrição de {f} para documentação.",
    "Adiantamos a passagem e descontamos do salário.",
    "Envie cópia do passaporte para garantir a vaga.",
    "Trabalho no exterior, vagas limitadas."};
static const char *const LURE_EN[] = {
    "Immediate start, no interview required.",
    "Earn up to {s} {p} from week one.",
    "A registration fee of {f} is required before placement.",
    "Tickets advanced by the agency and repaid from your wages.",
    "Send a copy of your passport to book your place.",
    "Work abroad, limited places."};
static const char *const OBFUSCATED_ES[] = {
    "Escríbenos al {T}.", "Info al whatsapp {T}.", "Llámanos: {T}."};
static const char *const OBFUSCATED_PT[] = {"Chama no zap {T}.", "Ligue {T}."};
static const char *const OBFUSCATED_EN[] = {"Text us on WhatsApp {T}.",
                                            "Call {T}."};

static const struct bank TITLE[NLANG] = {BANK(TITLE_ES), BANK(TITLE_PT),
                                         BANK(TITLE_EN)};
static const struct bank LURE_TITLE[NLANG] = {
    BANK(LURE_TITLE_ES), BANK(LURE_TITLE_PT), BANK(LURE_TITLE_EN)};
static const struct bank OPENER[NLANG] = {BANK(OPENER_ES), BANK(OPENER_PT),
                                          BANK(OPENER_EN)};
static const struct bank BODY[NLANG] = {BANK(BODY_ES), BANK(BODY_PT),
                                        BANK(BODY_EN)};
static const struct bank CLOSING[NLANG] = {BANK(CLOSING_ES), BANK(CLOSING_PT),
                                           BANK(CLOSING_EN)};
static const struct bank WEAK[NLANG] = {BANK(WEAK_ES), BANK(WEAK_PT),
                                        BANK(WEAK_EN)};
static const struct bank CORE_LURE[NLANG] = {
    BANK(CORE_LURE_ES), BANK(CORE_LURE_PT), BANK(CORE_LURE_EN)};
static const struct bank LURE[NLANG] = {BANK(LURE_ES), BANK(LURE_PT),
                                        BANK(LURE_EN)};
static const struct bank OBFUSCATED[NLANG] = {
    BANK(OBFUSCATED_ES), BANK(OBFUSCATED_PT), BANK(OBFUSCATED_EN)};

struct advert {
  enum lang lang;
  const struct occupation *occ;
  const struct place *home, *work;
  const char *employer;
  const struct phone *phone;
  const char *mailbox, *maildomain; /* mailbox NULL: no e-mail */
  int mailnum;                      /* digits after a free-mail box, or -1 */
  double amount;                    /* in the work country's currency */
  const char *currency;
  int period;
  double fee; /* in the home country's currency */
  const char *fee_currency;
  bool obfuscate_words;
};

/* Writes n bytes of s, turning é and ó into \u escapes when the advert
 * asks for it. */
static void put_text(struct out *o, const char *s, size_t n) {
  if (!o->uescape) {
    put(o, s, n);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    unsigned char d = i + 1 < n ? (unsigned char)s[i + 1] : 0;
    if (c == 0xC3 && (d == 0xA9 || d == 0xB3)) {
      if (d == 0xA9)
        PUTS(o, "\\u00e9");
      else
        PUTS(o, "\\u00f3");
      i++;
    } else {
      put_char(o, (char)c);
    }
  }
}

static void put_textz(struct out *o, const char *s) {
  put_text(o, s, strlen(s));
}

/* Whole units with the separator of the advert's language. */
static void put_amount(struct out *o, double v, enum lang lang) {
  char digits[24];
  uint64_t x = (uint64_t)(v + 0.5);
  int n = 0;
  do {
    digits[n++] = (char)('0' + x % 10);
    x /= 10;
  } while (x > 0);
  for (int i = n - 1; i >= 0; i--) {
    put_char(o, digits[i]);
    if (i > 0 && i % 3 == 0)
      put_char(o, lang == EN ? ',' : '.');
  }
}

static void put_email(struct out *o, const struct advert *ad) {
  put_cstr(o, ad->mailbox);
  if (ad->mailnum >= 0)
    put_uint(o, (uint64_t)ad->mailnum);
  put_char(o, '@');
  put_cstr(o, ad->maildomain);
}

/* The contact phone as posters write it to slip past scrapers: digits as
 * words ("tres uno cinco ..."), or 1 and 0 as the letters l and O. */
static void put_obfuscated(struct out *o, const struct advert *ad) {
  const struct phone *ph = ad->phone;
  bool first = true;
  for (size_t i = ph->local; i < ph->len; i++) {
    char c = ph->text[i];
    if (ad->obfuscate_words) {
      if (c < '0' || c > '9')
        continue;
      if (!first)
        put_char(o, ' ');
      put_textz(o, DIGIT_WORD[ad->lang][c - '0']);
      first = false;
    } else {
      put_char(o, c == '1' ? 'l' : c == '0' ? 'O' : c == ' ' ? '-' : c);
    }
  }
}

static void expand(struct out *o, const struct advert *ad, const char *tmpl) {
  for (const char *p = tmpl; *p; p++) {
    if (*p != '{') {
      const char *q = p;
      while (q[1] && q[1] != '{')
        q++;
      put_text(o, p, (size_t)(q - p + 1));
      p = q;
      continue;
    }
    switch (p[1]) {
    case 'o':
      put_textz(o, ad->occ->plural[ad->lang]);
      break;
    case 'c':
      put_textz(o, ad->home->city);
      break;
    case 'w':
      put_textz(o, ad->work->city);
      break;
    case 's':
      put_amount(o, ad->amount, ad->lang);
      put_char(o, ' ');
      put_cstr(o, ad->currency);
      break;
    case 'p':
      put_textz(o, PERIOD_WORD[ad->lang][ad->period]);
      break;
    case 'e':
      put_textz(o, ad->employer);
      break;
    case 't':
      put(o, ad->phone->text, ad->phone->len);
      break;
    case 'T':
      put_obfuscated(o, ad);
      break;
    case 'm':
      if (ad->mailbox)
        put_email(o, ad);
      else
        put(o, ad->phone->text, ad->phone->len);
      break;
    case 'f':
      put_amount(o, ad->fee, ad->lang);
      put_char(o, ' ');
      put_cstr(o, ad->fee_currency);
      break;
    default:
      assert(!"unknown template slot");
    }
    p += 2; /* the slot letter and its closing brace */
  }
}

/* Sentences are separated by a space or an escaped newline, and now and
 * then one stands in escaped quotes, so readers meet every common escape. */
struct textstyle {
  bool newlines, quotes;
};

static void put_sentence(struct out *o, struct rng *r, const struct advert *ad,
                         const char *tmpl, const struct textstyle *st,
                         bool first) {
  if (!first) {
    if (st->newlines)
      PUTS(o, "\\n");
    else
      put_char(o, ' ');
  }
  bool quoted = st->quotes && rng_chance(r, 0.15);
  if (quoted)
    PUTS(o, "\\\"");
  expand(o, ad, tmpl);
  if (quoted)
    PUTS(o, "\\\"");
}

static void put_advert_text(struct gen *g, const struct advert *ad, bool lure,
                            bool weak) {
  struct rng *r = &g->rng;
  struct out *o = &g->out;
  enum lang l = ad->lang;
  struct textstyle st;
  st.newlines = rng_chance(r, 0.25);
  st.quotes = rng_chance(r, 0.2);
  /* The body stops at the target; the closing line then adds 40 to 110
   * bytes, which keeps the text within TEXT_MIN and TEXT_MAX. */
  size_t target = (size_t)rng_range(r, TEXT_MIN - 20, 440);

  KEY(o, "text");
  put_char(o, '"');
  size_t start = o->len;
  o->uescape = rng_chance(r, 0.1);
  put_sentence(o, r, ad, bank_pick(r, &OPENER[l]), &st, true);
  if (lure) {
    put_sentence(o, r, ad, bank_pick(r, &CORE_LURE[l]), &st, false);
    int extra = rng_range(r, 1, 3);
    uint32_t base = rng_below(r, LURE[l].n);
    for (int i = 0; i < extra; i++)
      put_sentence(o, r, ad, LURE[l].items[(base + (uint32_t)i) % LURE[l].n],
                   &st, false);
    if (rng_chance(r, 0.4))
      put_sentence(o, r, ad, bank_pick(r, &OBFUSCATED[l]), &st, false);
  } else if (weak) {
    put_sentence(o, r, ad, bank_pick(r, &WEAK[l]), &st, false);
  }
  /* Body sentences in a random rotation, so none repeats within an advert;
   * one that would leave no room for the closing line is taken back. */
  uint32_t n = BODY[l].n, base = rng_below(r, n);
  for (uint32_t i = 0; i < n && o->len - start < target; i++) {
    size_t before = o->len;
    put_sentence(o, r, ad, BODY[l].items[(base + i) % n], &st, false);
    if (o->len - start > TEXT_MAX - 100) {
      o->len = before;
      break;
    }
  }
  put_sentence(o, r, ad, bank_pick(r, &CLOSING[l]), &st, false);
  o->uescape = false;
  put_char(o, '"');
}

static void put_location(struct out *o, const char *k, size_t kn,
                         const struct country *c, const struct place *p) {
  open_obj(o, k, kn);
  KSTR(o, "country", c->iso3);
  KSTR(o, "state", p->state);
  KSTR(o, "city", p->city);
  close_obj(o);
}

/* Advertised amounts are round: thousands for large currencies. */
static double round_amount(double v) {
  if (v >= 100000)
    return (double)(uint64_t)(v / 1000 + 0.5) * 1000;
  if (v >= 1000)
    return (double)(uint64_t)(v / 10 + 0.5) * 10;
  return (double)(uint64_t)(v + 0.5);
}

static void gen_job(struct gen *g, uint64_t index, int64_t t, bool lure) {
  struct rng *r = &g->rng;
  struct out *o = &g->out;
  const struct country *home = pick_country(r);
  const struct place *hplace = pick_place(r, home);
  const struct recruiter *rc = &g->recruiters[rng_below(r, NRECRUITERS)];
  struct advert ad;
  struct phone own_phone;
  ad.lang = rng_chance(r, 0.05) ? EN : home->lang;
  ad.occ =
      lure && rng_chance(r, 0.5)
          ? &OCCUPATIONS[FIRST_RISKY + rng_below(r, NOCCUPATIONS - FIRST_RISKY)]
          : &OCCUPATIONS[rng_below(r, NOCCUPATIONS)];
  ad.home = hplace;
  const struct country *wc = home;
  double abroad = lure ? 0.75 : 0.04;
  if (rng_chance(r, abroad))
    wc = other_country(r, home);
  /* Lures that stay in the country still send people to another city. */
  bool same_city = rng_chance(r, lure ? 0.2 : 0.8) && wc == home;
  ad.work = same_city ? hplace : pick_place(r, wc);
  bool registered = lure ? rng_chance(r, 0.3) : rng_chance(r, 0.92);
  uint32_t firm = rng_below(r, (uint32_t)NELEM(EMPLOYERS));
  uint32_t nfirms = (uint32_t)NELEM(RECRUITER_NAME) - RECRUITER_PEOPLE;
  if (lure && rng_chance(r, 0.3))
    ad.employer = RECRUITER_NAME[RECRUITER_PEOPLE + rng_below(r, nfirms)];
  else if (lure)
    ad.employer = PICK(r, SHADY_EMPLOYERS);
  else
    ad.employer = EMPLOYERS[firm].name;
  if (lure && rng_chance(r, 0.6)) {
    ad.phone = &rc->phone;
  } else {
    phone_make(home, g->seed, rng_next(r), &own_phone);
    ad.phone = &own_phone;
  }
  bool messaging = lure ? rng_chance(r, 0.7) : rng_chance(r, 0.03);
  uint32_t mail = rng_below(r, 10);
  if (lure ? mail < 3 : mail < 1) {
    ad.mailbox = NULL;
    ad.maildomain = NULL;
    ad.mailnum = -1;
  } else if (lure || mail < 2) {
    ad.mailbox = PICK(r, FREE_MAILBOXES);
    ad.maildomain = PICK(r, FREE_MAIL);
    ad.mailnum = (int)rng_below(r, 100);
  } else {
    ad.mailbox = PICK(r, HR_MAILBOXES);
    ad.maildomain = EMPLOYERS[firm].domain;
    ad.mailnum = -1;
  }
  /* A poster reachable only by chat shows no company mailbox. */
  if (messaging && ad.mailnum < 0)
    ad.mailbox = NULL;
  double ratio =
      lure ? 1.8 + 2.7 * rng_unit(r) : 0.6 + 0.45 * (rng_unit(r) + rng_unit(r));
  double usd_month = ad.occ->base_usd * wc->wage_index * ratio;
  uint32_t pr = rng_below(r, 100);
  ad.period = pr < 70 ? 0 : pr < 85 ? 1 : pr < 95 ? 2 : 3;
  ad.amount =
      round_amount(usd_month * wc->per_usd / PERIOD_PER_MONTH[ad.period]);
  ad.currency = wc->currency;
  ad.fee = round_amount((double)rng_range(r, 80, 400) * home->per_usd);
  ad.fee_currency = home->currency;
  ad.obfuscate_words = rng_chance(r, 0.5);
  bool weak = !lure && rng_chance(r, 0.04);

  PUTS(o, "{\"kind\":\"job_advert\"");
  o->first = false;
  put_id(o, "ja-", index);
  KEY(o, "source");
  PUTS(o, "\"scrape-");
  put_cstr(o, home->iso3);
  put_char(o, '"');
  KTIME(o, "observed_at", t);
  KEY(o, "title");
  put_char(o, '"');
  expand(o, &ad, bank_pick(r, lure ? &LURE_TITLE[ad.lang] : &TITLE[ad.lang]));
  put_char(o, '"');
  put_advert_text(g, &ad, lure, weak);
  KSTR(o, "occupation", ad.occ->word[ad.lang]);
  OPEN(o, "employer");
  KSTR(o, "name", ad.employer);
  if (registered || rng_chance(r, 0.2)) {
    KEY(o, "tax_id");
    put_char(o, '"');
    size_t n = 0;
    char tax[32];
    fill_pattern(r, home->tax_fmt, tax, &n);
    put(o, tax, n);
    put_char(o, '"');
  }
  KBOOL(o, "registered", registered);
  close_obj(o);
  OPEN(o, "contact");
  KEY(o, "phone");
  put_phone(o, ad.phone);
  if (ad.mailbox) {
    KEY(o, "email");
    put_char(o, '"');
    put_email(o, &ad);
    put_char(o, '"');
  }
  KBOOL(o, "messaging_only", messaging);
  KEY(o, "channels");
  if (messaging)
    put_cstr(o, rng_chance(r, 0.5) ? "[\"whatsapp\"]"
                                   : "[\"whatsapp\",\"telegram\"]");
  else if (ad.mailbox)
    put_cstr(o, rng_chance(r, 0.5) ? "[\"phone\",\"email\",\"web\"]"
                                   : "[\"phone\",\"whatsapp\",\"email\"]");
  else
    put_cstr(o, "[\"phone\",\"sms\"]");
  close_obj(o);
  put_location(o, "location", 8, home, hplace);
  put_location(o, "work_location", 13, wc, ad.work);
  OPEN(o, "salary");
  KEY(o, "amount");
  put_fixed(o, ad.amount, 0);
  KSTR(o, "currency", ad.currency);
  KSTR(o, "period", PERIOD_CODE[ad.period]);
  KFIXED(o, "usd_month", usd_month, 2);
  KFIXED(o, "market_ratio", ratio, 2);
  close_obj(o);
  OPEN(o, "requirements");
  KBOOL(o, "experience_required", !lure && rng_chance(r, 0.6));
  KINT(o, "min_age",
       lure && rng_chance(r, 0.15) ? rng_range(r, 15, 17)
       : rng_chance(r, 0.8)        ? 18
                                   : rng_range(r, 18, 25));
  close_obj(o);
  OPEN(o, "benefits");
  KBOOL(o, "travel_paid", rng_chance(r, lure ? 0.8 : 0.03));
  KBOOL(o, "accommodation_provided",
        rng_chance(r, lure              ? 0.7
                      : ad.occ->live_in ? 0.5
                                        : 0.05));
  KBOOL(o, "meals_provided", rng_chance(r, lure ? 0.5 : 0.2));
  close_obj(o);
  OPEN(o, "recruitment");
  KBOOL(o, "fee_required", rng_chance(r, lure ? 0.4 : 0.005));
  close_obj(o);
  KSTR(o, "site", PICK(r, SITES));
  KSTR(o, "language", LANG_CODE[ad.lang]);
  PUTS(o, "}\n");
}

/* --------------------------------------------------------------- premises */

enum venue_class {
  BAR,
  NIGHTCLUB,
  KARAOKE,
  MASSAGE,
  CABARET,
  RESTAURANT,
  NCLASSES
};

static const char *const CLASS_CODE[NCLASSES] = {
    "bar", "nightclub", "karaoke", "massage_parlour", "cabaret", "restaurant"};
static const char *const CLASS_PREFIX[NCLASSES][NLANG] = {
    {"Bar", "Bar", "The"},
    {"Discoteca", "Boate", "Club"},
    {"Karaoke", "Karaokê", "Karaoke"},
    {"Spa", "Casa de Massagem", "Spa"},
    {"Show Bar", "Casa de Shows", "Cabaret"},
    {"Restaurante", "Restaurante", "Diner"}};
static const char *const CLASS_ACTIVITIES[NCLASSES] = {
    "[\"alcohol\",\"recorded music\"",
    "[\"alcohol\",\"dancing\",\"music\"",
    "[\"alcohol\",\"karaoke\"",
    "[\"massage\"",
    "[\"alcohol\",\"live music\",\"adult entertainment\"",
    "[\"food\",\"alcohol\""};
static const double CLASS_CLOSE[NCLASSES] = {25, 28, 26, 22, 28, 23.5};
static const char *const VENUE_NAMES[] = {
    "La Estación",     "Luna Roja",    "El Dorado",   "Los Compadres",
    "Paraíso",         "Las Palmas",   "Estrella",    "Azul",
    "Tropical",        "La Herradura", "El Rincón",   "Miramar",
    "Oasis",           "Terraza 21",   "Punto G",     "Candilejas",
    "Noches de Fuego", "Cielo",        "El Farolito", "Copacabana"};
static const char *const HOLDER_FIRMS[] = {
    "Inversiones Nocturnas S.A.S.", "Entretenimiento del Sur Ltda.",
    "Operadora Luna S.A. de C.V.",  "Gastronomia Paulista Ltda.",
    "Nightlife Holdings LLC",       "Diversiones El Trébol S.R.L."};

static const char *const FIND_OK_ES[] = {
    "Licencia exhibida en lugar visible.",
    "Extintores vigentes y botiquín completo.",
    "Sin novedades durante la visita.",
    "Baños en buen estado y salida de emergencia señalizada.",
    "Se verificó el aforo autorizado.",
    "El administrador presentó la documentación solicitada.",
    "Se recomendó actualizar el plan de evacuación."};
static const char *const FIND_OK_PT[] = {
    "Alvará exposto em local visível.", "Extintores dentro da validade.",
    "Nada a registrar durante a vistoria.",
    "Saídas de emergência sinalizadas e desobstruídas.",
    "O gerente apresentou os documentos solicitados."};
static const char *const FIND_OK_EN[] = {
    "Licence displayed at the entrance.", "Fire extinguishers in date.",
    "Nothing to report during the visit.", "Emergency exits marked and clear.",
    "The manager produced the requested records."};
static const struct bank FIND_OK[NLANG] = {BANK(FIND_OK_ES), BANK(FIND_OK_PT),
                                           BANK(FIND_OK_EN)};

/* What inspectors write when they see each indicator. */
enum finding {
  F_HOSTESSES,
  F_BEDS,
  F_NO_RECORDS,
  F_DOCUMENTS,
  F_EXITS,
  F_FINES,
  F_RESTRICTED,
  F_MINORS,
  F_REOPENED,
  F_HOURS,
  NFINDINGS
};

static const char *const FIND_BAD[NFINDINGS][NLANG] = {
    {"Se observaron mujeres atendiendo como acompañantes de los clientes.",
     "Mulheres trabalhando como acompanhantes dos clientes.",
     "Women employed to sit and drink with customers."},
    {"En el segundo piso se encontraron colchones y pertenencias personales.",
     "Colchões e pertences pessoais encontrados nos fundos.",
     "Mattresses and personal belongings found in a back room."},
    {"No se presentó registro de trabajadores ni planillas de pago.",
     "Não foi apresentado registro de empregados nem folha de pagamento.",
     "No staff register or payroll records could be produced."},
    {"El encargado retenía los documentos de identidad de las trabajadoras.",
     "O gerente estava com os documentos de identidade das trabalhadoras.",
     "The manager was holding the workers' passports."},
    {"La salida de emergencia estaba cerrada con candado.",
     "A saída de emergência estava trancada com cadeado.",
     "The fire exit was padlocked."},
    {"Las trabajadoras refieren multas y cuotas mínimas de venta de bebidas.",
     "As trabalhadoras relatam multas e cotas de venda de bebidas.",
     "Workers report fines and drink sale quotas."},
    {"El ingreso es restringido, puerta con timbre y vigilante.",
     "Entrada restrita, porta com campainha e segurança.",
     "Entry restricted: buzzer door and a guard."},
    {"Se identificó a una persona menor de edad trabajando en el local.",
     "Foi identificada uma adolescente trabalhando no local.",
     "A person under 18 was found working on the premises."},
    {"El local había sido clausurado y reabrió sin autorización.",
     "O estabelecimento havia sido interditado e reabriu sem autorização.",
     "The venue had been closed by order and reopened without permission."},
    {"El establecimiento seguía abierto después del horario autorizado.",
     "O estabelecimento funcionava após o horário autorizado.",
     "The venue was trading after its licensed hours."}};

static void gen_premises(struct gen *g, uint64_t index, int64_t t, bool lure) {
  struct rng *r = &g->rng;
  struct out *o = &g->out;
  /* The licence and venue come from the licence's own key, so repeat
   * inspections of one venue agree on them. */
  uint32_t lkey = rng_below(r, g->licence_pool);
  struct rng lr = rng_keyed(g->seed ^ UINT64_C(0x5bd1e995), lkey);
  const struct country *c = pick_country(&lr);
  const struct place *p = pick_place(&lr, c);
  uint32_t cr = rng_below(&lr, 100);
  enum venue_class cls = cr < 35   ? RESTAURANT
                         : cr < 65 ? BAR
                         : cr < 77 ? NIGHTCLUB
                         : cr < 87 ? KARAOKE
                         : cr < 95 ? MASSAGE
                                   : CABARET;
  bool nominee = rng_chance(&lr, g->lure_rate * 3);
  uint32_t sr = rng_below(&lr, 100);
  const char *status = sr < 82   ? "active"
                       : sr < 92 ? "expired"
                       : sr < 95 ? "suspended"
                       : sr < 97 ? "revoked"
                                 : "none";
  bool unlicensed = status[0] == 'n';
  int64_t issued = T0 - (int64_t)rng_range(&lr, 0, 1500) * DAY;
  int64_t valid_until = status[0] == 'e'
                            ? t - (int64_t)rng_range(&lr, 1, 400) * DAY
                            : t + (int64_t)rng_range(&lr, 30, 900) * DAY;
  double close = CLASS_CLOSE[cls] + 0.5 * rng_range(&lr, -2, 2);
  struct person holder, operator_, supervisor;
  person_make(&lr, c->lang, rng_chance(&lr, 0.4), NULL, &holder);
  person_make(&lr, c->lang, rng_chance(&lr, 0.4), NULL, &operator_);
  person_make(&lr, c->lang, rng_chance(&lr, 0.5), NULL, &supervisor);
  bool holder_firm = rng_chance(&lr, 0.3);
  const char *firm = PICK(&lr, HOLDER_FIRMS);
  const char *vname = PICK(&lr, VENUE_NAMES);
  struct phone vphone;
  phone_make(c, g->seed, UINT64_C(0x100000000) + lkey, &vphone);

  /* A third of the records are register extracts without a visit. When
   * there is one, ordinary visits find little and lure visits several
   * indicators at once. */
  bool visited = lure || rng_chance(r, 0.7);
  bool found[NFINDINGS] = {false};
  bool entertainment = cls != RESTAURANT;
  found[F_HOSTESSES] = rng_chance(r, entertainment ? 0.12 : 0.01);
  found[F_BEDS] = rng_chance(r, 0.01);
  found[F_NO_RECORDS] = rng_chance(r, 0.08);
  found[F_DOCUMENTS] = rng_chance(r, 0.003);
  found[F_EXITS] = rng_chance(r, 0.01);
  found[F_FINES] = rng_chance(r, 0.005);
  found[F_RESTRICTED] = rng_chance(r, 0.03);
  found[F_MINORS] = rng_chance(r, 0.004);
  found[F_REOPENED] = rng_chance(r, 0.01);
  found[F_HOURS] = rng_chance(r, 0.05);
  if (lure) {
    int k = rng_range(r, 2, 5);
    for (int i = 0; i < k; i++)
      found[rng_below(r, NFINDINGS)] = true;
  }
  int workers = rng_range(r, 2, lure ? 40 : 25);
  int foreign = (int)(workers * (lure ? 0.4 + 0.5 * rng_unit(r)
                                      : 0.3 * rng_unit(r) * rng_unit(r)));
  double observed = found[F_HOURS] ? close + 0.5 * rng_range(r, 1, 6)
                                   : close - 0.5 * rng_range(r, 0, 3);

  PUTS(o, "{\"kind\":\"premises\"");
  o->first = false;
  put_id(o, "in-", index);
  KEY(o, "source");
  PUTS(o, "\"inspections-");
  put_cstr(o, c->iso3);
  put_char(o, '"');
  /* Inspections happen in the evening, when these venues are open. */
  int64_t visit = t - t % DAY + (int64_t)rng_range(r, 18, 23) * 3600;
  KTIME(o, "observed_at", visit + (int64_t)rng_below(r, 3600));

  OPEN(o, "licence");
  if (!unlicensed) {
    KEY(o, "number");
    PUTS(o, "\"LIC-");
    put_cstr(o, p->airport);
    put_char(o, '-');
    int y, m, d;
    civil_from_days(issued / DAY, &y, &m, &d);
    put_uint(o, (uint64_t)y);
    put_char(o, '-');
    put_uint_w(o, lkey, 6);
    put_char(o, '"');
  }
  KSTR(o, "class", CLASS_CODE[cls]);
  KSTR(o, "status", status);
  if (!unlicensed) {
    KDATE(o, "valid_until", valid_until);
    KEY(o, "holder");
    if (holder_firm)
      put_qstr(o, firm);
    else
      put_fullname(o, &holder);
    KEY(o, "operator");
    if (nominee)
      put_fullname(o, &operator_);
    else if (holder_firm)
      put_qstr(o, firm);
    else
      put_fullname(o, &holder);
    KEY(o, "supervisor");
    put_fullname(o, &supervisor);
    KEY(o, "hours_close");
    put_fixed(o, close, close == (double)(int)close ? 0 : 1);
    KEY(o, "activities");
    put_cstr(o, CLASS_ACTIVITIES[cls]);
    if (close > 24)
      PUTS(o, ",\"late night refreshment\"");
    put_char(o, ']');
    KINT(o, "holder_changes_12m",
         nominee               ? rng_range(r, 2, 5)
         : rng_chance(r, 0.05) ? 1
                               : 0);
  }
  close_obj(o);

  OPEN(o, "venue");
  KEY(o, "name");
  put_char(o, '"');
  put_cstr(o, CLASS_PREFIX[cls][c->lang]);
  put_char(o, ' ');
  put_cstr(o, vname);
  put_char(o, '"');
  /* A licensed restaurant that is a bar in practice is the class mismatch
   * inspectors look for. */
  KSTR(o, "type",
       found[F_HOSTESSES] && !entertainment ? "bar" : CLASS_CODE[cls]);
  KEY(o, "address");
  put_char(o, '"');
  put_street(o, &lr, c->lang);
  put_char(o, '"');
  KSTR(o, "city", p->city);
  KSTR(o, "country", c->iso3);
  KEY(o, "phone");
  put_phone(o, &vphone);
  close_obj(o);

  if (!visited) {
    PUTS(o, "}\n");
    return;
  }
  OPEN(o, "inspection");
  KSTR(o, "agency", c->agency);
  KINT(o, "workers_counted", workers);
  KINT(o, "foreign_workers", foreign);
  KBOOL(o, "hostesses_present", found[F_HOSTESSES]);
  KBOOL(o, "beds_on_site", found[F_BEDS]);
  KBOOL(o, "worker_register", !found[F_NO_RECORDS]);
  KBOOL(o, "wage_records", !found[F_NO_RECORDS] && rng_chance(r, 0.95));
  KBOOL(o, "documents_held", found[F_DOCUMENTS]);
  KBOOL(o, "exits_blocked", found[F_EXITS]);
  KBOOL(o, "fines_or_quotas", found[F_FINES]);
  KBOOL(o, "restricted_entry", found[F_RESTRICTED]);
  KBOOL(o, "minors_present", found[F_MINORS]);
  KBOOL(o, "reopened_after_closure", found[F_REOPENED]);
  KEY(o, "observed_close");
  put_fixed(o, observed, observed == (double)(int)observed ? 0 : 1);
  KEY(o, "findings");
  put_char(o, '"');
  bool any = false;
  for (int f = 0; f < NFINDINGS; f++) {
    if (!found[f])
      continue;
    if (any)
      put_char(o, ' ');
    put_cstr(o, FIND_BAD[f][c->lang]);
    any = true;
  }
  int ok = rng_range(r, 1, any ? 1 : 2);
  uint32_t base = rng_below(r, FIND_OK[c->lang].n);
  for (int i = 0; i < ok; i++) {
    if (any)
      put_char(o, ' ');
    put_cstr(o,
             FIND_OK[c->lang].items[(base + (uint32_t)i) % FIND_OK[c->lang].n]);
    any = true;
  }
  put_char(o, '"');
  close_obj(o);
  PUTS(o, "}\n");
}

/* ----------------------------------------------------------- bank checks */

/* The writer copies bank strings into JSON unescaped: none may hold a
 * quote, a backslash or a control byte, and templates only known slots. */
static bool clean(const char *s, bool tmpl) {
  for (const char *p = s; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '"' || c == '\\' || c < 0x20)
      return false;
    if (c == '{') {
      if (!tmpl || !p[1] || !strchr("ocwspetTmf", p[1]) || p[2] != '}')
        return false;
      p += 2;
    } else if (c == '}') {
      return false;
    }
  }
  return true;
}

static bool bank_clean(const struct bank *b, size_t nb, bool tmpl) {
  for (size_t i = 0; i < nb; i++)
    for (uint32_t j = 0; j < b[i].n; j++)
      if (!clean(b[i].items[j], tmpl))
        return false;
  return true;
}

static bool check_banks(void) {
  const struct bank plain[] = {BANK(GIVEN_F_ES),
                               BANK(GIVEN_M_ES),
                               BANK(GIVEN_F_PT),
                               BANK(GIVEN_M_PT),
                               BANK(GIVEN_F_EN),
                               BANK(GIVEN_M_EN),
                               BANK(SURNAME_ES),
                               BANK(SURNAME_PT),
                               BANK(SURNAME_EN),
                               BANK(RECRUITER_NAME),
                               BANK(RECRUITER_VARIANT),
                               BANK(STREET_ES),
                               BANK(STREET_NAME_ES),
                               BANK(STREET_PT),
                               BANK(STREET_NAME_PT),
                               BANK(STREET_NAME_EN),
                               BANK(CARRIERS),
                               BANK(SPECIAL_REQUESTS),
                               BANK(SHADY_EMPLOYERS),
                               BANK(HR_MAILBOXES),
                               BANK(FREE_MAILBOXES),
                               BANK(FREE_MAIL),
                               BANK(SITES),
                               BANK(VENUE_NAMES),
                               BANK(HOLDER_FIRMS),
                               BANK(FIND_OK_ES),
                               BANK(FIND_OK_PT),
                               BANK(FIND_OK_EN)};
  const struct bank *tmpl[] = {TITLE, LURE_TITLE, OPENER, BODY,      CLOSING,
                               WEAK,  CORE_LURE,  LURE,   OBFUSCATED};
  if (!bank_clean(plain, NELEM(plain), false))
    return false;
  for (size_t i = 0; i < NELEM(tmpl); i++)
    if (!bank_clean(tmpl[i], NLANG, true))
      return false;
  for (size_t i = 0; i < NELEM(EMPLOYERS); i++)
    if (!clean(EMPLOYERS[i].name, false) || !clean(EMPLOYERS[i].domain, false))
      return false;
  for (size_t i = 0; i < NELEM(OCCUPATIONS); i++)
    for (int l = 0; l < NLANG; l++)
      if (!clean(OCCUPATIONS[i].word[l], false) ||
          !clean(OCCUPATIONS[i].plural[l], false))
        return false;
  for (size_t i = 0; i < NFINDINGS; i++)
    for (int l = 0; l < NLANG; l++)
      if (!clean(FIND_BAD[i][l], false))
        return false;
  for (size_t i = 0; i < NCOUNTRIES; i++)
    for (int j = 0; j < 4; j++)
      if (!clean(COUNTRIES[i].places[j].city, false) ||
          !clean(COUNTRIES[i].places[j].state, false))
        return false;
  return NELEM(RECRUITER_NAME) == NELEM(RECRUITER_VARIANT) &&
         !OCCUPATIONS[FIRST_RISKY - 1].risky && OCCUPATIONS[FIRST_RISKY].risky;
}

/* ------------------------------------------------------------------ main */

enum mix { MIX, ONLY_TRAVEL, ONLY_JOB, ONLY_PREMISES };

struct options {
  uint64_t seed, count;
  enum mix kind;
  double lure_rate;
};

static void usage(FILE *fp) {
  fputs("usage: vg_bench_gen [--seed N] [--count N]"
        " [--kind travel|job_advert|premises|mix] [--lure-rate R]\n"
        "Writes COUNT NDJSON records (default 1000) to stdout; the same seed"
        " gives the same bytes.\n"
        "--lure-rate: share of records carrying indicators, 0 to 1"
        " (default 0.03).\n",
        fp);
}

static int parse_u64(const char *s, uint64_t *out) {
  char *end;
  if (!s || *s < '0' || *s > '9')
    return -1;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0')
    return -1;
  *out = (uint64_t)v;
  return 0;
}

/* Returns 0, 1 when help was asked for, or -1 on a usage error (reported). */
static int parse_args(int argc, char **argv, struct options *opt) {
  opt->seed = 1;
  opt->count = 1000;
  opt->kind = MIX;
  opt->lure_rate = 0.03;
  /* Every option but --help takes one value. */
  for (int i = 1; i < argc; i += 2) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
      return 1;
    if (strcmp(a, "--seed") == 0 || strcmp(a, "--count") == 0) {
      if (parse_u64(v, a[2] == 's' ? &opt->seed : &opt->count) != 0) {
        fprintf(stderr, "vg_bench_gen: %s needs a whole number, got '%s'\n", a,
                v ? v : "");
        return -1;
      }
    } else if (strcmp(a, "--kind") == 0) {
      static const char *const names[] = {"mix", "travel", "job_advert",
                                          "premises"};
      size_t k = 0;
      while (k < NELEM(names) && !(v && strcmp(v, names[k]) == 0))
        k++;
      if (k == NELEM(names)) {
        fprintf(stderr, "vg_bench_gen: unknown --kind '%s'\n", v ? v : "");
        return -1;
      }
      opt->kind = (enum mix)k;
    } else if (strcmp(a, "--lure-rate") == 0) {
      char *end = NULL;
      double x = v ? strtod(v, &end) : -1;
      if (!v || end == v || *end != '\0' || !(x >= 0 && x <= 1)) {
        fprintf(stderr,
                "vg_bench_gen: --lure-rate needs a number in [0, 1]"
                ", got '%s'\n",
                v ? v : "");
        return -1;
      }
      opt->lure_rate = x;
    } else {
      fprintf(stderr, "vg_bench_gen: unknown argument '%s'\n", a);
      return -1;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  struct options opt;
  int rc = parse_args(argc, argv, &opt);
  if (rc != 0) {
    usage(rc > 0 ? stdout : stderr);
    return rc > 0 ? 0 : 2;
  }
  if (!check_banks()) {
    fputs("vg_bench_gen: a phrase bank holds a character it may not\n", stderr);
    return 1;
  }

  struct gen g;
  memset(&g, 0, sizeof g);
  g.rng.state = opt.seed;
  g.seed = opt.seed;
  g.count = opt.count;
  g.lure_rate = opt.lure_rate;
  /* About two inspections per licence. */
  g.licence_pool = opt.count / 4 > 100 ? (uint32_t)(opt.count / 4) : 100;
  g.out.fp = stdout;
  g.out.buf = malloc(OUT_CAP);
  if (!g.out.buf) {
    fputs("vg_bench_gen: out of memory\n", stderr);
    return 1;
  }
  for (uint32_t i = 0; i < NRECRUITERS; i++) {
    struct recruiter *rec = &g.recruiters[i];
    struct rng kr = rng_keyed(opt.seed ^ UINT64_C(0x7f4a7c15), i);
    rec->name = rng_below(&kr, (uint32_t)NELEM(RECRUITER_NAME));
    rec->country = pick_country(&kr);
    phone_make(rec->country, opt.seed, UINT64_C(0x200000000) + i, &rec->phone);
  }

  for (uint64_t i = 0; i < opt.count && !g.out.failed; i++) {
    if (OUT_CAP - g.out.len < OUT_HEADROOM)
      out_flush(&g.out);
    /* Time moves forward through the file, with a few hours of jitter so
     * records arrive slightly out of order, as feeds deliver them. */
    int64_t t = T0 + (int64_t)((double)SPAN * (double)i / (double)opt.count) +
                (int64_t)rng_range(&g.rng, -6 * 3600, 6 * 3600);
    bool lure = rng_chance(&g.rng, opt.lure_rate);
    enum mix kind = opt.kind;
    if (kind == MIX) {
      uint32_t k = rng_below(&g.rng, 100);
      kind = k < 60 ? ONLY_TRAVEL : k < 80 ? ONLY_JOB : ONLY_PREMISES;
    }
    if (kind == ONLY_TRAVEL)
      gen_travel(&g, i, t, lure);
    else if (kind == ONLY_JOB)
      gen_job(&g, i, t, lure);
    else
      gen_premises(&g, i, t, lure);
  }
  out_flush(&g.out);
  free(g.out.buf);
  if (g.out.failed || fflush(stdout) != 0) {
    fprintf(stderr, "vg_bench_gen: write failed: %s\n", strerror(errno));
    return 1;
  }
  return 0;
}
