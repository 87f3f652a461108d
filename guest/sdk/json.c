// JSON DOM implementation. See json.h for the ownership model.
#include "json.h"

#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------------------------
// String builder
// ---------------------------------------------------------------------------------------------

void kw_sb_init(kw_sb* sb) {
  memset(sb, 0, sizeof(*sb));
}

void kw_sb_free(kw_sb* sb) {
  free(sb->data);
  kw_sb_init(sb);
}

void kw_sb_reset(kw_sb* sb) {
  sb->len = 0;
  sb->oom = false;
  if (sb->data) sb->data[0] = '\0';
}

bool kw_sb_reserve(kw_sb* sb, size_t extra) {
  if (sb->oom) return false;
  // +1 keeps room for the terminating NUL that kw_sb_cstr() relies on.
  if (extra > SIZE_MAX - sb->len - 1) {
    sb->oom = true;
    return false;
  }
  size_t need = sb->len + extra + 1;
  if (need <= sb->cap) return true;
  size_t cap = sb->cap ? sb->cap : 64;
  while (cap < need) cap = (cap > SIZE_MAX / 2) ? need : cap * 2;
  char* data = (char*)realloc(sb->data, cap);
  if (!data) {
    sb->oom = true;
    return false;
  }
  sb->data = data;
  sb->cap = cap;
  return true;
}

void kw_sb_append(kw_sb* sb, const void* data, size_t len) {
  if (len == 0 || !kw_sb_reserve(sb, len)) return;
  memcpy(sb->data + sb->len, data, len);
  sb->len += len;
  sb->data[sb->len] = '\0';
}

void kw_sb_append_cstr(kw_sb* sb, const char* s) {
  kw_sb_append(sb, s, strlen(s));
}

void kw_sb_append_char(kw_sb* sb, char c) {
  kw_sb_append(sb, &c, 1);
}

void kw_sb_append_u64(kw_sb* sb, uint64_t v) {
  char buf[20];
  size_t i = sizeof(buf);
  do {
    buf[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  kw_sb_append(sb, buf + i, sizeof(buf) - i);
}

void kw_sb_append_i64(kw_sb* sb, int64_t v) {
  if (v < 0) {
    kw_sb_append_char(sb, '-');
    // Negating in unsigned space keeps INT64_MIN well-defined.
    kw_sb_append_u64(sb, (uint64_t)0 - (uint64_t)v);
  } else {
    kw_sb_append_u64(sb, (uint64_t)v);
  }
}

static const char kHex[] = "0123456789abcdef";

void kw_sb_append_json_string(kw_sb* sb, const char* s, size_t len) {
  kw_sb_append_char(sb, '"');
  size_t run = 0;  // Start of the pending run of bytes that need no escaping.
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    kw_sb_append(sb, s + run, i - run);
    run = i + 1;
    char esc[6] = {'\\', 0, 0, 0, 0, 0};
    size_t n = 2;
    switch (c) {
      case '"':
        esc[1] = '"';
        break;
      case '\\':
        esc[1] = '\\';
        break;
      case '\b':
        esc[1] = 'b';
        break;
      case '\f':
        esc[1] = 'f';
        break;
      case '\n':
        esc[1] = 'n';
        break;
      case '\r':
        esc[1] = 'r';
        break;
      case '\t':
        esc[1] = 't';
        break;
      default:
        memcpy(esc + 1, "u00", 3);
        esc[4] = kHex[c >> 4];
        esc[5] = kHex[c & 15];
        n = 6;
    }
    kw_sb_append(sb, esc, n);
  }
  kw_sb_append(sb, s + run, len - run);
  kw_sb_append_char(sb, '"');
}

const char* kw_sb_cstr(kw_sb* sb) {
  return (sb->data && !sb->oom) ? sb->data : "";
}

// ---------------------------------------------------------------------------------------------
// Arena
// ---------------------------------------------------------------------------------------------

struct kw_json_block {
  kw_json_block* next;
  size_t size;  // Usable bytes after the header.
};

enum { kArenaFirstBlock = 4096, kArenaMaxBlock = 1 << 20, kAlign = 8 };

static size_t align_up(size_t n) {
  return (n + (kAlign - 1)) & ~(size_t)(kAlign - 1);
}

void kw_json_doc_init(kw_json_doc* doc) {
  memset(doc, 0, sizeof(*doc));
  doc->max_depth = KW_JSON_DEFAULT_MAX_DEPTH;
}

void kw_json_doc_free(kw_json_doc* doc) {
  kw_json_block* b = doc->blocks;
  while (b) {
    kw_json_block* next = b->next;
    free(b);
    b = next;
  }
  uint32_t max_depth = doc->max_depth;
  kw_json_doc_init(doc);
  doc->max_depth = max_depth;
}

static void* arena_grow(kw_json_doc* doc, size_t size) {
  // Doubling block sizes keep the malloc count logarithmic in the document size.
  size_t want = doc->blocks ? doc->blocks->size * 2 : kArenaFirstBlock;
  if (want > kArenaMaxBlock) want = kArenaMaxBlock;
  if (want < size) want = size;
  size_t header = align_up(sizeof(kw_json_block));
  if (want > SIZE_MAX - header) return NULL;
  kw_json_block* b = (kw_json_block*)malloc(header + want);
  if (!b) return NULL;
  b->next = doc->blocks;
  b->size = want;
  doc->blocks = b;
  doc->cursor = (char*)b + header + size;
  doc->avail = want - size;
  return (char*)b + header;
}

void* kw_json_alloc(kw_json_doc* doc, size_t size) {
  if (size > SIZE_MAX - kAlign) return NULL;
  size = align_up(size ? size : 1);
  if (size > doc->avail) return arena_grow(doc, size);
  void* p = doc->cursor;
  doc->cursor += size;
  doc->avail -= size;
  return p;
}

char* kw_json_strndup(kw_json_doc* doc, const char* s, size_t len) {
  if (len == SIZE_MAX) return NULL;
  char* p = (char*)kw_json_alloc(doc, len + 1);
  if (!p) return NULL;
  if (len) memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

static kw_json* new_node(kw_json_doc* doc, kw_json_type type) {
  kw_json* v = (kw_json*)kw_json_alloc(doc, sizeof(kw_json));
  if (!v) return NULL;
  memset(v, 0, sizeof(*v));
  v->type = (uint8_t)type;
  return v;
}

// ---------------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------------

typedef struct parser {
  const char* begin;
  const char* p;
  const char* end;
  kw_json_doc* doc;
  kw_json_error err;
} parser;

static bool fail(parser* ps, kw_json_error err) {
  if (ps->err == KW_JSON_OK) ps->err = err;
  return false;
}

static void skip_ws(parser* ps) {
  const char* p = ps->p;
  while (p < ps->end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  ps->p = p;
}

static bool in_range(unsigned char c, unsigned char lo, unsigned char hi) {
  return c >= lo && c <= hi;
}

// Length of the well-formed UTF-8 sequence at p (lead byte >= 0x80), or 0 if it is invalid.
// Overlong forms and UTF-16 surrogates are rejected, as RFC 3629 requires.
static size_t utf8_seq_len(const unsigned char* p, const unsigned char* end) {
  unsigned char c = p[0];
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // Allowed range of the second byte.
  if (in_range(c, 0xC2, 0xDF)) {
    n = 2;
  } else if (in_range(c, 0xE0, 0xEF)) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (in_range(c, 0xF0, 0xF4)) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if ((size_t)(end - p) < n) return 0;
  if (!in_range(p[1], lo, hi)) return 0;
  for (size_t i = 2; i < n; i++) {
    if (!in_range(p[i], 0x80, 0xBF)) return 0;
  }
  return n;
}

static int hex_val(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads the 4 hex digits after "\u" at p; -1 if malformed or truncated.
static int32_t read_hex4(const char* p, const char* end) {
  if (end - p < 4) return -1;
  int32_t v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hex_val(p[i]);
    if (h < 0) return -1;
    v = (v << 4) | h;
  }
  return v;
}

static size_t put_utf8(char* out, uint32_t cp) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

// Decodes one escape sequence starting at the backslash *pp; advances *pp past it.
static bool decode_escape(parser* ps, const char** pp, const char* end, char* out, size_t* n) {
  const char* p = *pp + 1;  // Validated by the scan: there is at least one char here.
  char c = *p++;
  switch (c) {
    case '"':
      *out = '"';
      break;
    case '\\':
      *out = '\\';
      break;
    case '/':
      *out = '/';
      break;
    case 'b':
      *out = '\b';
      break;
    case 'f':
      *out = '\f';
      break;
    case 'n':
      *out = '\n';
      break;
    case 'r':
      *out = '\r';
      break;
    case 't':
      *out = '\t';
      break;
    case 'u': {
      int32_t cp = read_hex4(p, end);
      if (cp < 0) return fail(ps, KW_JSON_ERR_BAD_ESCAPE);
      p += 4;
      if (cp >= 0xDC00 && cp <= 0xDFFF) return fail(ps, KW_JSON_ERR_BAD_ESCAPE);
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        // A high surrogate is only meaningful when a low surrogate escape follows.
        if (end - p < 6 || p[0] != '\\' || p[1] != 'u') return fail(ps, KW_JSON_ERR_BAD_ESCAPE);
        int32_t lo = read_hex4(p + 2, end);
        if (lo < 0xDC00 || lo > 0xDFFF) return fail(ps, KW_JSON_ERR_BAD_ESCAPE);
        p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      }
      *n = put_utf8(out, (uint32_t)cp);
      *pp = p;
      return true;
    }
    default:
      return fail(ps, KW_JSON_ERR_BAD_ESCAPE);
  }
  *n = 1;
  *pp = p;
  return true;
}

// Slow path for strings containing escapes: decoding only ever shrinks the text, so the raw
// length bounds the arena allocation.
static bool decode_string(parser* ps, const char* start, const char* stop, const char** out,
                          uint32_t* out_len) {
  char* buf = (char*)kw_json_alloc(ps->doc, (size_t)(stop - start));
  if (!buf) return fail(ps, KW_JSON_ERR_NOMEM);
  size_t n = 0;
  const char* p = start;
  while (p < stop) {
    if (*p != '\\') {
      buf[n++] = *p++;
      continue;
    }
    size_t k = 0;
    if (!decode_escape(ps, &p, stop, buf + n, &k)) {
      ps->p = p;
      return false;
    }
    n += k;
  }
  *out = buf;
  *out_len = (uint32_t)n;
  return true;
}

// Parses the string literal at ps->p (which points at the opening quote).
static bool parse_string(parser* ps, const char** out, uint32_t* out_len) {
  const unsigned char* p = (const unsigned char*)ps->p + 1;
  const unsigned char* end = (const unsigned char*)ps->end;
  const unsigned char* start = p;
  bool escaped = false;
  for (;;) {
    if (p >= end) {
      ps->p = (const char*)p;
      return fail(ps, KW_JSON_ERR_TRUNCATED);
    }
    unsigned char c = *p;
    if (c == '"') break;
    if (c == '\\') {
      escaped = true;
      if (end - p < 2) {
        ps->p = (const char*)end;
        return fail(ps, KW_JSON_ERR_TRUNCATED);
      }
      p += 2;  // Skipping the escaped char keeps \" from ending the string.
      continue;
    }
    if (c < 0x20) {
      ps->p = (const char*)p;
      return fail(ps, KW_JSON_ERR_BAD_STRING);
    }
    if (c < 0x80) {
      p++;
      continue;
    }
    size_t n = utf8_seq_len(p, end);
    if (n == 0) {
      ps->p = (const char*)p;
      return fail(ps, KW_JSON_ERR_BAD_UTF8);
    }
    p += n;
  }
  if ((size_t)(p - start) > UINT32_MAX) return fail(ps, KW_JSON_ERR_TOO_LARGE);
  if (escaped) {
    if (!decode_string(ps, (const char*)start, (const char*)p, out, out_len)) return false;
  } else {
    *out = (const char*)start;
    *out_len = (uint32_t)(p - start);
  }
  ps->p = (const char*)p + 1;
  return true;
}

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Validates RFC 8259 number syntax; the DOM keeps the text so round trips are exact.
static bool parse_number(parser* ps, kw_json* v) {
  const char* p = ps->p;
  const char* end = ps->end;
  const char* start = p;
  if (p < end && *p == '-') p++;
  if (p >= end) goto truncated;
  if (*p == '0') {
    p++;
    if (p < end && is_digit(*p)) goto bad;  // Leading zeros are not JSON.
  } else if (is_digit(*p)) {
    while (p < end && is_digit(*p)) p++;
  } else {
    goto bad;
  }
  if (p < end && *p == '.') {
    p++;
    if (p >= end) goto truncated;
    if (!is_digit(*p)) goto bad;
    while (p < end && is_digit(*p)) p++;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-')) p++;
    if (p >= end) goto truncated;
    if (!is_digit(*p)) goto bad;
    while (p < end && is_digit(*p)) p++;
  }
  if ((size_t)(p - start) > UINT32_MAX) return fail(ps, KW_JSON_ERR_TOO_LARGE);
  v->type = KW_JSON_NUMBER;
  v->u.str = start;
  v->len = (uint32_t)(p - start);
  ps->p = p;
  return true;
truncated:
  ps->p = p;
  return fail(ps, KW_JSON_ERR_TRUNCATED);
bad:
  ps->p = p;
  return fail(ps, KW_JSON_ERR_BAD_NUMBER);
}

static bool parse_literal(parser* ps, const char* word, size_t n) {
  size_t avail = (size_t)(ps->end - ps->p);
  size_t cmp = avail < n ? avail : n;
  if (memcmp(ps->p, word, cmp) != 0) return fail(ps, KW_JSON_ERR_SYNTAX);
  if (cmp < n) {
    ps->p = ps->end;
    return fail(ps, KW_JSON_ERR_TRUNCATED);
  }
  ps->p += n;
  return true;
}

static bool parse_scalar(parser* ps, kw_json* v) {
  switch (*ps->p) {
    case '"':
      v->type = KW_JSON_STRING;
      return parse_string(ps, &v->u.str, &v->len);
    case 't':
      v->type = KW_JSON_BOOL;
      v->boolean = true;
      return parse_literal(ps, "true", 4);
    case 'f':
      v->type = KW_JSON_BOOL;
      return parse_literal(ps, "false", 5);
    case 'n':
      v->type = KW_JSON_NULL;
      return parse_literal(ps, "null", 4);
    default:
      if (*ps->p == '-' || is_digit(*ps->p)) return parse_number(ps, v);
      return fail(ps, KW_JSON_ERR_SYNTAX);
  }
}

static void append_child(kw_json* parent, kw_json* child) {
  if (parent->u.kids.last) {
    parent->u.kids.last->next = child;
  } else {
    parent->u.kids.first = child;
  }
  parent->u.kids.last = child;
  parent->len++;
}

// Consumes `"key" :` and leaves ps->p at the member value.
static bool parse_member_key(parser* ps, kw_json* v) {
  skip_ws(ps);
  if (ps->p >= ps->end) return fail(ps, KW_JSON_ERR_TRUNCATED);
  if (*ps->p != '"') return fail(ps, KW_JSON_ERR_SYNTAX);
  if (!parse_string(ps, &v->key, &v->key_len)) return false;
  skip_ws(ps);
  if (ps->p >= ps->end) return fail(ps, KW_JSON_ERR_TRUNCATED);
  if (*ps->p != ':') return fail(ps, KW_JSON_ERR_SYNTAX);
  ps->p++;
  return true;
}

// Parses the value at ps->p into a fresh node. Containers are only opened here (pushed by
// the caller), so the parser needs no recursion: nesting depth costs heap, not wasm stack.
static kw_json* parse_value_start(parser* ps, const char* key, uint32_t key_len) {
  skip_ws(ps);
  if (ps->p >= ps->end) {
    fail(ps, KW_JSON_ERR_TRUNCATED);
    return NULL;
  }
  kw_json* v = new_node(ps->doc, KW_JSON_NULL);
  if (!v) {
    fail(ps, KW_JSON_ERR_NOMEM);
    return NULL;
  }
  v->key = key;
  v->key_len = key_len;
  char c = *ps->p;
  if (c == '{' || c == '[') {
    v->type = c == '{' ? KW_JSON_OBJECT : KW_JSON_ARRAY;
    ps->p++;
    return v;
  }
  return parse_scalar(ps, v) ? v : NULL;
}

static bool is_container(const kw_json* v) {
  return v->type == KW_JSON_OBJECT || v->type == KW_JSON_ARRAY;
}

static bool parse_document(parser* ps) {
  kw_json_doc* doc = ps->doc;
  uint32_t max_depth = doc->max_depth;
  if (max_depth > KW_JSON_MAX_DEPTH_LIMIT) max_depth = KW_JSON_MAX_DEPTH_LIMIT;
  kw_json** stack = (kw_json**)kw_json_alloc(doc, sizeof(kw_json*) * ((size_t)max_depth + 1));
  if (!stack) return fail(ps, KW_JSON_ERR_NOMEM);
  uint32_t depth = 0;
  const char* key = NULL;
  uint32_t key_len = 0;
  for (;;) {
    kw_json* v = parse_value_start(ps, key, key_len);
    if (!v) return false;
    if (depth == 0) {
      doc->root = v;
    } else {
      append_child(stack[depth - 1], v);
    }
    if (is_container(v)) {
      if (depth >= max_depth) {
        ps->p--;
        return fail(ps, KW_JSON_ERR_TOO_DEEP);
      }
      stack[depth++] = v;
      skip_ws(ps);
      if (ps->p >= ps->end) return fail(ps, KW_JSON_ERR_TRUNCATED);
      char close = v->type == KW_JSON_OBJECT ? '}' : ']';
      if (*ps->p != close) {
        // Non-empty container: read the first element.
        if (v->type == KW_JSON_OBJECT) {
          kw_json tmp;
          if (!parse_member_key(ps, &tmp)) return false;
          key = tmp.key;
          key_len = tmp.key_len;
        } else {
          key = NULL;
          key_len = 0;
        }
        continue;
      }
      ps->p++;
      depth--;
    }
    // A value just completed: close finished containers until one expects another element.
    for (;;) {
      if (depth == 0) return true;
      kw_json* parent = stack[depth - 1];
      skip_ws(ps);
      if (ps->p >= ps->end) return fail(ps, KW_JSON_ERR_TRUNCATED);
      char c = *ps->p;
      char close = parent->type == KW_JSON_OBJECT ? '}' : ']';
      if (c == close) {
        ps->p++;
        depth--;
        continue;
      }
      if (c != ',') return fail(ps, KW_JSON_ERR_SYNTAX);
      ps->p++;
      if (parent->len == UINT32_MAX) return fail(ps, KW_JSON_ERR_TOO_LARGE);
      if (parent->type == KW_JSON_OBJECT) {
        kw_json tmp;
        if (!parse_member_key(ps, &tmp)) return false;
        key = tmp.key;
        key_len = tmp.key_len;
      } else {
        key = NULL;
        key_len = 0;
      }
      break;
    }
  }
}

kw_json_error kw_json_parse(kw_json_doc* doc, const char* input, size_t len) {
  if (!input) {
    input = "";  // Pointer arithmetic on NULL is undefined even with a zero offset.
    len = 0;
  }
  parser ps = {input, input, input + len, doc, KW_JSON_OK};
  doc->root = NULL;
  skip_ws(&ps);
  if (ps.p >= ps.end) {
    fail(&ps, KW_JSON_ERR_EMPTY);
  } else if (parse_document(&ps)) {
    skip_ws(&ps);
    if (ps.p != ps.end) fail(&ps, KW_JSON_ERR_TRAILING);
  }
  if (ps.err != KW_JSON_OK) doc->root = NULL;
  doc->error = ps.err;
  doc->error_offset = (size_t)(ps.p - ps.begin);
  return ps.err;
}

const char* kw_json_strerror(kw_json_error err) {
  switch (err) {
    case KW_JSON_OK:
      return "ok";
    case KW_JSON_ERR_EMPTY:
      return "empty input";
    case KW_JSON_ERR_TRUNCATED:
      return "unexpected end of input";
    case KW_JSON_ERR_SYNTAX:
      return "syntax error";
    case KW_JSON_ERR_BAD_NUMBER:
      return "invalid number";
    case KW_JSON_ERR_BAD_STRING:
      return "control character in string";
    case KW_JSON_ERR_BAD_ESCAPE:
      return "invalid escape sequence";
    case KW_JSON_ERR_BAD_UTF8:
      return "invalid UTF-8";
    case KW_JSON_ERR_TOO_DEEP:
      return "nesting too deep";
    case KW_JSON_ERR_TOO_LARGE:
      return "value too large";
    case KW_JSON_ERR_TRAILING:
      return "trailing characters after JSON value";
    case KW_JSON_ERR_NOMEM:
      return "out of memory";
  }
  return "unknown error";
}

// ---------------------------------------------------------------------------------------------
// Lookup
// ---------------------------------------------------------------------------------------------

kw_json* kw_json_getn(const kw_json* obj, const char* key, size_t key_len) {
  if (!kw_json_is(obj, KW_JSON_OBJECT)) return NULL;
  for (kw_json* m = obj->u.kids.first; m; m = m->next) {
    if (m->key_len == key_len && memcmp(m->key, key, key_len) == 0) return m;
  }
  return NULL;
}

kw_json* kw_json_get(const kw_json* obj, const char* key) {
  return kw_json_getn(obj, key, strlen(key));
}

kw_json* kw_json_index(const kw_json* arr, size_t i) {
  if (!kw_json_is(arr, KW_JSON_ARRAY) || i >= arr->len) return NULL;
  kw_json* e = arr->u.kids.first;
  while (i-- && e) e = e->next;
  return e;
}

// Applies "[n]" at *pp to v; advances *pp past the closing bracket.
static kw_json* path_index(const kw_json* v, const char** pp) {
  const char* p = *pp + 1;
  if (!is_digit(*p)) return NULL;
  size_t idx = 0;
  while (is_digit(*p)) {
    if (idx > (SIZE_MAX - 9) / 10) return NULL;
    idx = idx * 10 + (size_t)(*p++ - '0');
  }
  if (*p != ']') return NULL;
  *pp = p + 1;
  return kw_json_index(v, idx);
}

kw_json* kw_json_path(const kw_json* root, const char* path) {
  kw_json* v = (kw_json*)root;
  const char* p = path;
  char key[256];
  while (v && *p) {
    if (*p == '[') {
      v = path_index(v, &p);
      continue;
    }
    if (*p == '.') p++;
    size_t n = 0;
    while (*p && *p != '.' && *p != '[') {
      if (*p == '\\' && p[1]) p++;
      if (n == sizeof(key)) return NULL;
      key[n++] = *p++;
    }
    v = kw_json_getn(v, key, n);
  }
  return v;
}

const char* kw_json_str(const kw_json* v, size_t* len) {
  if (!kw_json_is(v, KW_JSON_STRING)) return NULL;
  if (len) *len = v->len;
  return v->u.str;
}

bool kw_json_str_eq(const kw_json* v, const char* s) {
  if (!kw_json_is(v, KW_JSON_STRING)) return false;
  size_t n = strlen(s);
  return v->len == n && memcmp(v->u.str, s, n) == 0;
}

bool kw_json_number(const kw_json* v, double* out) {
  if (!kw_json_is(v, KW_JSON_NUMBER)) return false;
  // strtod needs a terminator, and the text may sit in the middle of the input buffer.
  char small[64];
  char* buf = v->len < sizeof(small) ? small : (char*)malloc((size_t)v->len + 1);
  if (!buf) return false;
  memcpy(buf, v->u.str, v->len);
  buf[v->len] = '\0';
  *out = strtod(buf, NULL);
  if (buf != small) free(buf);
  return true;
}

bool kw_json_int64(const kw_json* v, int64_t* out) {
  if (!kw_json_is(v, KW_JSON_NUMBER)) return false;
  const char* p = v->u.str;
  const char* end = p + v->len;
  bool neg = p < end && *p == '-';
  if (neg) p++;
  if (p >= end) return false;
  uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  uint64_t acc = 0;
  for (; p < end; p++) {
    if (!is_digit(*p)) return false;
    uint64_t d = (uint64_t)(*p - '0');
    if (acc > (limit - d) / 10) return false;
    acc = acc * 10 + d;
  }
  *out = neg ? (int64_t)((uint64_t)0 - acc) : (int64_t)acc;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Building and mutation
// ---------------------------------------------------------------------------------------------

kw_json* kw_json_new_null(kw_json_doc* doc) {
  return new_node(doc, KW_JSON_NULL);
}

kw_json* kw_json_new_bool(kw_json_doc* doc, bool b) {
  kw_json* v = new_node(doc, KW_JSON_BOOL);
  if (v) v->boolean = b;
  return v;
}

kw_json* kw_json_new_int(kw_json_doc* doc, int64_t value) {
  char buf[24];
  size_t i = sizeof(buf);
  uint64_t mag = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
  do {
    buf[--i] = (char)('0' + mag % 10);
    mag /= 10;
  } while (mag);
  if (value < 0) buf[--i] = '-';
  kw_json* v = new_node(doc, KW_JSON_NUMBER);
  char* text = v ? kw_json_strndup(doc, buf + i, sizeof(buf) - i) : NULL;
  if (!text) return NULL;
  v->u.str = text;
  v->len = (uint32_t)(sizeof(buf) - i);
  return v;
}

kw_json* kw_json_new_string(kw_json_doc* doc, const char* s, size_t len) {
  if (len > UINT32_MAX) return NULL;
  kw_json* v = new_node(doc, KW_JSON_STRING);
  char* copy = v ? kw_json_strndup(doc, s, len) : NULL;
  if (!copy) return NULL;
  v->u.str = copy;
  v->len = (uint32_t)len;
  return v;
}

kw_json* kw_json_new_array(kw_json_doc* doc) {
  return new_node(doc, KW_JSON_ARRAY);
}

kw_json* kw_json_new_object(kw_json_doc* doc) {
  return new_node(doc, KW_JSON_OBJECT);
}

bool kw_json_object_set(kw_json_doc* doc, kw_json* obj, const char* key, size_t key_len,
                        kw_json* value) {
  if (!kw_json_is(obj, KW_JSON_OBJECT) || !value || key_len > UINT32_MAX) return false;
  kw_json* prev = NULL;
  for (kw_json* m = obj->u.kids.first; m; prev = m, m = m->next) {
    if (m->key_len != key_len || memcmp(m->key, key, key_len) != 0) continue;
    value->key = m->key;
    value->key_len = m->key_len;
    value->next = m->next;
    if (prev) {
      prev->next = value;
    } else {
      obj->u.kids.first = value;
    }
    if (obj->u.kids.last == m) obj->u.kids.last = value;
    return true;
  }
  if (obj->len == UINT32_MAX) return false;
  char* k = kw_json_strndup(doc, key, key_len);
  if (!k) return false;
  value->key = k;
  value->key_len = (uint32_t)key_len;
  value->next = NULL;
  append_child(obj, value);
  return true;
}

bool kw_json_object_remove(kw_json* obj, const char* key, size_t key_len) {
  if (!kw_json_is(obj, KW_JSON_OBJECT)) return false;
  kw_json* prev = NULL;
  for (kw_json* m = obj->u.kids.first; m; prev = m, m = m->next) {
    if (m->key_len != key_len || memcmp(m->key, key, key_len) != 0) continue;
    if (prev) {
      prev->next = m->next;
    } else {
      obj->u.kids.first = m->next;
    }
    if (obj->u.kids.last == m) obj->u.kids.last = prev;
    obj->len--;
    m->next = NULL;
    return true;
  }
  return false;
}

bool kw_json_array_append(kw_json* arr, kw_json* value) {
  if (!kw_json_is(arr, KW_JSON_ARRAY) || !value || arr->len == UINT32_MAX) return false;
  value->key = NULL;
  value->key_len = 0;
  value->next = NULL;
  append_child(arr, value);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Serializer
// ---------------------------------------------------------------------------------------------

static void write_scalar(kw_sb* sb, const kw_json* v) {
  switch ((kw_json_type)v->type) {
    case KW_JSON_NULL:
      kw_sb_append(sb, "null", 4);
      return;
    case KW_JSON_BOOL:
      kw_sb_append_cstr(sb, v->boolean ? "true" : "false");
      return;
    case KW_JSON_NUMBER:
      kw_sb_append(sb, v->u.str, v->len);
      return;
    case KW_JSON_STRING:
      kw_sb_append_json_string(sb, v->u.str, v->len);
      return;
    case KW_JSON_ARRAY:
    case KW_JSON_OBJECT:
      return;
  }
}

typedef struct write_frame {
  const kw_json* node;
  const kw_json* next;  // Next child to emit.
} write_frame;

// Iterative, like the parser, so built documents of any depth cannot exhaust the wasm stack.
bool kw_json_write(kw_sb* sb, const kw_json* v) {
  if (!v) return false;
  if (!is_container(v)) {
    write_scalar(sb, v);
    return !sb->oom;
  }
  write_frame local[32];
  write_frame* stack = local;
  size_t cap = sizeof(local) / sizeof(local[0]);
  size_t depth = 0;
  const kw_json* open = v;
  while (!sb->oom) {
    if (open) {
      if (depth == cap) {
        write_frame* bigger = (write_frame*)malloc(sizeof(write_frame) * cap * 2);
        if (!bigger) {
          sb->oom = true;
          break;
        }
        memcpy(bigger, stack, sizeof(write_frame) * depth);
        if (stack != local) free(stack);
        stack = bigger;
        cap *= 2;
      }
      kw_sb_append_char(sb, open->type == KW_JSON_OBJECT ? '{' : '[');
      stack[depth].node = open;
      stack[depth].next = open->u.kids.first;
      depth++;
      open = NULL;
    }
    if (depth == 0) break;
    write_frame* f = &stack[depth - 1];
    bool obj = f->node->type == KW_JSON_OBJECT;
    const kw_json* c = f->next;
    if (!c) {
      kw_sb_append_char(sb, obj ? '}' : ']');
      depth--;
      continue;
    }
    f->next = c->next;
    if (c != f->node->u.kids.first) kw_sb_append_char(sb, ',');
    if (obj) {
      kw_sb_append_json_string(sb, c->key, c->key_len);
      kw_sb_append_char(sb, ':');
    }
    if (is_container(c)) {
      open = c;
    } else {
      write_scalar(sb, c);
    }
  }
  if (stack != local) free(stack);
  return !sb->oom;
}
