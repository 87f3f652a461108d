// A minimal guest side of OPA's WebAssembly ABI, for Rego-mode test policies written in C.
//
// The host (src/opa/opa_abi.*) supplies the memory (`env.memory`) and drives evaluation through
// the exports below. Like OPA's own runtime, memory is a bump heap the host rewinds with
// opa_heap_ptr_set after each evaluation, so nothing is ever freed one by one: malloc, realloc
// and free are defined here on top of that heap (json.c uses them), replacing wasi-libc's.
//
// A value is a {text, len} view of compact or pretty JSON; opa_json_parse checks the text and
// keeps a view of the host's bytes without copying them, opa_json_dump NUL-terminates a copy.
//
// The including policy defines:
//   static const char* opa_entrypoints_json(void);  // e.g. "{\"policy/main\":0}"
//   static bool opa_rule(kw_json_doc* doc, const kw_json* input, const kw_json* data, kw_sb* out);
// opa_rule appends the whole result set (e.g. [{"result":...}]) to `out`.
#ifndef KW_GUEST_OPA_GUEST_H_
#define KW_GUEST_OPA_GUEST_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "json.h"

#define OPA_EXPORT(name) __attribute__((export_name(name)))
#define OPA_IMPORT(name) __attribute__((import_module("env"), import_name(name)))

OPA_IMPORT("opa_abort") void opa_abort(const char* message);

typedef struct opa_value {
  const char* text;
  uint32_t len;
} opa_value;

typedef struct opa_eval_ctx {
  const opa_value* input;
  const opa_value* data;
  int32_t entrypoint;
  const opa_value* result;
} opa_eval_ctx;

// ---------------------------------------------------------------------------------------------
// Bump heap
// ---------------------------------------------------------------------------------------------

extern unsigned char __heap_base;
static uintptr_t g_opa_heap;  // 0 until first use: memory may come zeroed from a pool

static uintptr_t opa_heap_top(void) {
  if (!g_opa_heap) g_opa_heap = (uintptr_t)&__heap_base;
  return g_opa_heap;
}

static void* opa_bump(size_t size) {
  uintptr_t start = (opa_heap_top() + 7u) & ~(uintptr_t)7u;
  if (size > UINTPTR_MAX - start - 65535u) opa_abort("opa_malloc: out of memory");
  uintptr_t end = start + size;
  size_t pages = (end + 65535u) / 65536u;
  size_t have = __builtin_wasm_memory_size(0);
  if (pages > have && __builtin_wasm_memory_grow(0, pages - have) == (size_t)-1) {
    opa_abort("opa_malloc: out of memory");
  }
  g_opa_heap = end;
  return (void*)start;
}

OPA_EXPORT("opa_malloc") void* opa_malloc(size_t size) {
  return opa_bump(size);
}
OPA_EXPORT("opa_free") void opa_free(void* p) {
  (void)p;
}
OPA_EXPORT("opa_heap_ptr_get") uintptr_t opa_heap_ptr_get(void) {
  return opa_heap_top();
}
OPA_EXPORT("opa_heap_ptr_set") void opa_heap_ptr_set(uintptr_t p) {
  g_opa_heap = p;
}

// libc's allocator, over the bump heap. Each block keeps its size in front of it so realloc
// can copy, and the most recent block can grow or be released in place (kw_sb relies on it).
typedef struct opa_block {
  size_t size;
  size_t pad;  // keeps the payload 8-byte aligned
} opa_block;

void* malloc(size_t size) {
  opa_block* b = opa_bump(sizeof(opa_block) + size);
  b->size = size;
  return b + 1;
}

void free(void* p) {
  if (!p) return;
  opa_block* b = (opa_block*)p - 1;
  if ((uintptr_t)p + b->size == g_opa_heap) g_opa_heap = (uintptr_t)b;
}

void* calloc(size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  void* p = malloc(n * size);
  memset(p, 0, n * size);  // a rewound heap is not zero
  return p;
}

void* realloc(void* p, size_t size) {
  if (!p) return malloc(size);
  opa_block* b = (opa_block*)p - 1;
  if ((uintptr_t)p + b->size == g_opa_heap) {  // the last block grows in place
    g_opa_heap = (uintptr_t)p;
    opa_bump(size);
    b->size = size;
    return p;
  }
  void* q = malloc(size);
  memcpy(q, p, b->size < size ? b->size : size);
  return q;
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

static opa_value* opa_new_value(const char* text, size_t len) {
  opa_value* v = opa_bump(sizeof(opa_value));
  v->text = text;
  v->len = (uint32_t)len;
  return v;
}

// Checks that the bytes are one JSON value; 0 (the ABI's failure) when they are not.
OPA_EXPORT("opa_json_parse") opa_value* opa_json_parse(const char* text, size_t len) {
  opa_value* v = opa_new_value(text, len);
  uintptr_t mark = g_opa_heap;
  kw_json_doc doc;
  kw_json_doc_init(&doc);
  doc.max_depth = 1024;
  bool ok = kw_json_parse(&doc, text, len) == KW_JSON_OK;
  g_opa_heap = mark;  // drops the whole document at once
  return ok ? v : NULL;
}

OPA_EXPORT("opa_json_dump") char* opa_json_dump(const opa_value* v) {
  char* out = opa_bump(v->len + 1u);
  memcpy(out, v->text, v->len);
  out[v->len] = '\0';
  return out;
}

static const char kBuiltins[] = "{}";
static const char* opa_entrypoints_json(void);
static const opa_value kBuiltinsValue = {kBuiltins, sizeof kBuiltins - 1};

OPA_EXPORT("builtins") const opa_value* opa_builtins(void) {
  return &kBuiltinsValue;
}
OPA_EXPORT("entrypoints") const opa_value* opa_entrypoints(void) {
  const char* json = opa_entrypoints_json();
  return opa_new_value(json, strlen(json));
}

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

static bool opa_rule(kw_json_doc* doc, const kw_json* input, const kw_json* data, kw_sb* out);

OPA_EXPORT("opa_eval_ctx_new") opa_eval_ctx* opa_eval_ctx_new(void) {
  opa_eval_ctx* ctx = opa_bump(sizeof(opa_eval_ctx));
  memset(ctx, 0, sizeof *ctx);
  return ctx;
}
OPA_EXPORT("opa_eval_ctx_set_input")
void opa_eval_ctx_set_input(opa_eval_ctx* ctx, const opa_value* v) {
  ctx->input = v;
}
OPA_EXPORT("opa_eval_ctx_set_data")
void opa_eval_ctx_set_data(opa_eval_ctx* ctx, const opa_value* v) {
  ctx->data = v;
}
OPA_EXPORT("opa_eval_ctx_set_entrypoint")
void opa_eval_ctx_set_entrypoint(opa_eval_ctx* ctx, int32_t id) {
  ctx->entrypoint = id;
}
OPA_EXPORT("opa_eval_ctx_get_result")
const opa_value* opa_eval_ctx_get_result(const opa_eval_ctx* ctx) {
  return ctx->result;
}

// Parses the value into `doc`; an absent value reads as an empty object.
static const kw_json* opa_parse_value(kw_json_doc* doc, const opa_value* v) {
  kw_json_doc_init(doc);
  doc->max_depth = 1024;
  if (!v) return kw_json_new_object(doc);
  if (kw_json_parse(doc, v->text, v->len) != KW_JSON_OK) opa_abort("eval: a value is not JSON");
  return doc->root;
}

// The ABI reserves eval's return value; 0 means success.
OPA_EXPORT("eval") int32_t opa_eval(opa_eval_ctx* ctx) {
  if (ctx->entrypoint != 0) opa_abort("eval: unknown entrypoint");
  kw_json_doc input_doc, data_doc, scratch;
  const kw_json* input = opa_parse_value(&input_doc, ctx->input);
  const kw_json* data = opa_parse_value(&data_doc, ctx->data);
  kw_json_doc_init(&scratch);
  kw_sb out;
  kw_sb_init(&out);
  if (!opa_rule(&scratch, input, data, &out) || out.oom) opa_abort("eval: the rule failed");
  ctx->result = opa_new_value(out.data, out.len);  // heap memory, released by the host's rewind
  return 0;
}

#endif  // KW_GUEST_OPA_GUEST_H_
