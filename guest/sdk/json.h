// Small JSON DOM for waPC guests (C11). Builds both for wasm32-wasi and natively.
//
// Parsing is zero-copy where possible: strings without escapes and number texts point into
// the caller's input, which must therefore outlive the document. Everything else lives in a
// per-document arena, released at once by kw_json_doc_free(), so a policy evaluation costs a
// handful of malloc calls no matter how large the request is.
#ifndef KW_GUEST_JSON_H_
#define KW_GUEST_JSON_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------------------------------------
// String builder
// ---------------------------------------------------------------------------------------------

// Growable byte buffer. An allocation failure sets `oom` and turns later appends into no-ops,
// so callers check once at the end instead of after every append.
typedef struct kw_sb {
  char* data;  // NUL-terminated whenever len > 0 or after kw_sb_cstr().
  size_t len;
  size_t cap;
  bool oom;
} kw_sb;

void kw_sb_init(kw_sb* sb);
void kw_sb_free(kw_sb* sb);
void kw_sb_reset(kw_sb* sb);  // Keeps the allocation.
bool kw_sb_reserve(kw_sb* sb, size_t extra);
void kw_sb_append(kw_sb* sb, const void* data, size_t len);
void kw_sb_append_cstr(kw_sb* sb, const char* s);
void kw_sb_append_char(kw_sb* sb, char c);
void kw_sb_append_i64(kw_sb* sb, int64_t v);
void kw_sb_append_u64(kw_sb* sb, uint64_t v);
// Appends `s` as a quoted JSON string literal (escaping quotes, backslashes and controls).
void kw_sb_append_json_string(kw_sb* sb, const char* s, size_t len);
// Always returns a valid C string ("" when empty or out of memory).
const char* kw_sb_cstr(kw_sb* sb);

// ---------------------------------------------------------------------------------------------
// DOM
// ---------------------------------------------------------------------------------------------

typedef enum kw_json_type {
  KW_JSON_NULL = 0,
  KW_JSON_BOOL,
  KW_JSON_NUMBER,
  KW_JSON_STRING,
  KW_JSON_ARRAY,
  KW_JSON_OBJECT,
} kw_json_type;

typedef struct kw_json kw_json;

// One value. Containers hold a singly linked child list (cheap to build, cheap to append);
// object members carry their decoded key.
struct kw_json {
  kw_json* next;    // Next sibling inside the parent container.
  const char* key;  // Decoded member key (not NUL-terminated); NULL for array elements.
  uint32_t key_len;
  uint8_t type;  // kw_json_type
  bool boolean;
  uint32_t len;  // String: decoded byte length. Number: text length. Container: child count.
  union {
    const char* str;  // String bytes (not NUL-terminated) or the number's JSON text.
    struct {
      kw_json* first;
      kw_json* last;
    } kids;
  } u;
};

typedef enum kw_json_error {
  KW_JSON_OK = 0,
  KW_JSON_ERR_EMPTY,
  KW_JSON_ERR_TRUNCATED,
  KW_JSON_ERR_SYNTAX,
  KW_JSON_ERR_BAD_NUMBER,
  KW_JSON_ERR_BAD_STRING,
  KW_JSON_ERR_BAD_ESCAPE,
  KW_JSON_ERR_BAD_UTF8,
  KW_JSON_ERR_TOO_DEEP,
  KW_JSON_ERR_TOO_LARGE,
  KW_JSON_ERR_TRAILING,
  KW_JSON_ERR_NOMEM,
} kw_json_error;

// The parser keeps its container stack in the arena, so the limit bounds memory, not recursion.
enum { KW_JSON_DEFAULT_MAX_DEPTH = 128, KW_JSON_MAX_DEPTH_LIMIT = 1 << 16 };

typedef struct kw_json_block kw_json_block;

typedef struct kw_json_doc {
  kw_json* root;
  kw_json_error error;
  size_t error_offset;  // Byte offset into the input where parsing stopped.
  uint32_t max_depth;   // Nesting limit (capped at KW_JSON_MAX_DEPTH_LIMIT); set before parsing.
  kw_json_block* blocks;
  char* cursor;  // Free space in the current arena block.
  size_t avail;
} kw_json_doc;

void kw_json_doc_init(kw_json_doc* doc);
void kw_json_doc_free(kw_json_doc* doc);

// Parses `input` (need not be NUL-terminated; never read past input+len). On success sets
// doc->root and returns KW_JSON_OK; otherwise returns the error (also in doc->error), with
// doc->error_offset pointing at the offending byte. May be called once per document.
kw_json_error kw_json_parse(kw_json_doc* doc, const char* input, size_t len);
const char* kw_json_strerror(kw_json_error err);

// Arena allocation tied to the document's lifetime (8-byte aligned). NULL on failure.
void* kw_json_alloc(kw_json_doc* doc, size_t size);
// Copies `len` bytes into the arena and NUL-terminates them.
char* kw_json_strndup(kw_json_doc* doc, const char* s, size_t len);

// ---------------------------------------------------------------------------------------------
// Lookup. All accessors accept NULL and return NULL / false, so lookups chain without checks.
// Like strchr, they take const nodes but return mutable ones so mutators can use the results.
// ---------------------------------------------------------------------------------------------

static inline bool kw_json_is(const kw_json* v, kw_json_type t) {
  return v && v->type == t;
}
static inline bool kw_json_is_true(const kw_json* v) {
  return v && v->type == KW_JSON_BOOL && v->boolean;
}
static inline kw_json* kw_json_first(const kw_json* v) {
  return (v && (v->type == KW_JSON_ARRAY || v->type == KW_JSON_OBJECT)) ? v->u.kids.first : NULL;
}

// First member named `key` (duplicates are kept; the first one wins).
kw_json* kw_json_getn(const kw_json* obj, const char* key, size_t key_len);
kw_json* kw_json_get(const kw_json* obj, const char* key);
kw_json* kw_json_index(const kw_json* arr, size_t i);
// Path such as "request.object.spec.containers[0].name". A backslash makes the next character
// literal, e.g. "metadata.labels.kubewarden\\.io/mutated".
kw_json* kw_json_path(const kw_json* root, const char* path);

// String contents (not NUL-terminated); NULL when `v` is not a string.
const char* kw_json_str(const kw_json* v, size_t* len);
bool kw_json_str_eq(const kw_json* v, const char* s);
bool kw_json_number(const kw_json* v, double* out);
// Fails for fractions, exponents and values outside int64.
bool kw_json_int64(const kw_json* v, int64_t* out);

// ---------------------------------------------------------------------------------------------
// Building and mutation (nodes live in the document's arena).
// ---------------------------------------------------------------------------------------------

kw_json* kw_json_new_null(kw_json_doc* doc);
kw_json* kw_json_new_bool(kw_json_doc* doc, bool b);
kw_json* kw_json_new_int(kw_json_doc* doc, int64_t v);
kw_json* kw_json_new_string(kw_json_doc* doc, const char* s, size_t len);  // Copies `s`.
kw_json* kw_json_new_array(kw_json_doc* doc);
kw_json* kw_json_new_object(kw_json_doc* doc);

// Replaces the member named `key` in place (keeping member order) or appends it.
// `value` must not already belong to a container. Returns false on type error / no memory.
bool kw_json_object_set(kw_json_doc* doc, kw_json* obj, const char* key, size_t key_len,
                        kw_json* value);
bool kw_json_object_remove(kw_json* obj, const char* key, size_t key_len);
bool kw_json_array_append(kw_json* arr, kw_json* value);

// Compact serialization. Returns false if the builder ran out of memory.
bool kw_json_write(kw_sb* sb, const kw_json* v);

#ifdef __cplusplus
}
#endif

#endif  // KW_GUEST_JSON_H_
