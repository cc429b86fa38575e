/* arena.c - bump allocator with chunk reuse. */
#include "arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct vg_arena_chunk {
  struct vg_arena_chunk *next;
  size_t size, used;
  alignas(max_align_t) unsigned char data[];
};

void vg_arena_init(struct vg_arena *arena, size_t chunk_size) {
  arena->head = NULL;
  arena->chunk_size = chunk_size ? chunk_size : 64 * 1024;
}

void vg_arena_close(struct vg_arena *arena) {
  struct vg_arena_chunk *c = arena->head;
  while (c) {
    struct vg_arena_chunk *next = c->next;
    free(c);
    c = next;
  }
  arena->head = NULL;
}

void vg_arena_reset(struct vg_arena *arena) {
  struct vg_arena_chunk *largest = NULL;
  for (struct vg_arena_chunk *c = arena->head; c; c = c->next)
    if (!largest || c->size > largest->size)
      largest = c;
  struct vg_arena_chunk *c = arena->head;
  while (c) {
    struct vg_arena_chunk *next = c->next;
    if (c != largest)
      free(c);
    c = next;
  }
  if (largest) {
    largest->next = NULL;
    largest->used = 0;
  }
  arena->head = largest;
}

void *vg_arena_alloc(struct vg_arena *arena, size_t size) {
  const size_t align = alignof(max_align_t);
  size = (size + align - 1) & ~(align - 1);
  if (size == 0)
    size = align;
  struct vg_arena_chunk *c = arena->head;
  if (!c || c->size - c->used < size) {
    size_t want = arena->chunk_size;
    if (size > want / 4)
      want = size + arena->chunk_size;
    c = malloc(sizeof *c + want);
    if (!c)
      return NULL;
    c->size = want;
    c->used = 0;
    c->next = arena->head;
    arena->head = c;
  }
  void *p = c->data + c->used;
  c->used += size;
  return p;
}

void *vg_arena_calloc(struct vg_arena *arena, size_t count, size_t size) {
  if (size && count > SIZE_MAX / size)
    return NULL;
  void *p = vg_arena_alloc(arena, count * size);
  if (p)
    memset(p, 0, count * size);
  return p;
}

char *vg_arena_strndup(struct vg_arena *arena, const char *s, size_t len) {
  char *p = vg_arena_alloc(arena, len + 1);
  if (p) {
    memcpy(p, s, len);
    p[len] = '\0';
  }
  return p;
}

char *vg_arena_strdup(struct vg_arena *arena, const char *s) {
  return vg_arena_strndup(arena, s, strlen(s));
}
