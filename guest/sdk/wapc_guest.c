// waPC guest runtime and Kubewarden dispatch. See wapc_guest.h.
#include "wapc_guest.h"

#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------------------------
// Raw waPC protocol
// ---------------------------------------------------------------------------------------------

enum { kMaxFunctions = 16 };

typedef struct wapc_function {
  const char* op;
  size_t op_len;
  wapc_handler fn;
} wapc_function;

static wapc_function g_functions[kMaxFunctions];
static size_t g_function_count;
static bool g_initialized;

bool wapc_register_function(const char* op, wapc_handler fn) {
  size_t len = strlen(op);
  for (size_t i = 0; i < g_function_count; i++) {
    if (g_functions[i].op_len == len && memcmp(g_functions[i].op, op, len) == 0) {
      g_functions[i].fn = fn;
      return true;
    }
  }
  if (g_function_count == kMaxFunctions) return false;
  g_functions[g_function_count++] = (wapc_function){op, len, fn};
  return true;
}

static void ensure_initialized(void) {
  if (g_initialized) return;
  g_initialized = true;
  wapc_guest_init();
}

// Exported for hosts that follow the waPC convention of calling it after instantiation.
__attribute__((export_name("wapc_init"))) void wapc_init(void) {
  ensure_initialized();
}

void wapc_respond(const void* data, size_t len) {
  wapc_import_guest_response((const uint8_t*)data, len);
}

void wapc_respond_cstr(const char* s) {
  wapc_respond(s, strlen(s));
}

void wapc_fail(const char* msg, size_t len) {
  wapc_import_guest_error((const uint8_t*)msg, len);
}

void wapc_fail_cstr(const char* msg) {
  wapc_fail(msg, strlen(msg));
}

void wapc_console_log(const char* msg, size_t len) {
  wapc_import_console_log((const uint8_t*)msg, len);
}

bool wapc_host_call(const char* binding, const char* ns, const char* op, const void* payload,
                    size_t len, wapc_host_result* out) {
  int32_t ok = wapc_import_host_call((const uint8_t*)binding, strlen(binding), (const uint8_t*)ns,
                                     strlen(ns), (const uint8_t*)op, strlen(op),
                                     (const uint8_t*)payload, len);
  size_t n = ok ? wapc_import_host_response_len() : wapc_import_host_error_len();
  out->ok = false;
  out->len = 0;
  out->data = (char*)malloc(n + 1);
  if (!out->data) return false;
  if (ok) {
    wapc_import_host_response((uint8_t*)out->data);
  } else {
    wapc_import_host_error((uint8_t*)out->data);
  }
  out->data[n] = '\0';
  out->len = n;
  out->ok = ok != 0;
  return out->ok;
}

void wapc_host_result_free(wapc_host_result* r) {
  free(r->data);
  r->data = NULL;
  r->len = 0;
}

static int32_t dispatch(const char* op, size_t op_len, const uint8_t* payload, size_t len) {
  for (size_t i = 0; i < g_function_count; i++) {
    if (g_functions[i].op_len == op_len && memcmp(g_functions[i].op, op, op_len) == 0) {
      return g_functions[i].fn(payload, len);
    }
  }
  kw_sb msg;
  kw_sb_init(&msg);
  kw_sb_append_cstr(&msg, "unknown operation: ");
  kw_sb_append(&msg, op, op_len);
  wapc_fail(kw_sb_cstr(&msg), msg.oom ? 0 : msg.len);
  kw_sb_free(&msg);
  return 0;
}

__attribute__((export_name("__guest_call"))) int32_t wapc_guest_call(int32_t op_len,
                                                                     int32_t msg_len) {
  ensure_initialized();
  // Lengths are i32 on the wire but never negative: reinterpret instead of rejecting.
  size_t op_n = (uint32_t)op_len;
  size_t msg_n = (uint32_t)msg_len;
  if (op_n > SIZE_MAX - msg_n - 1) {
    wapc_fail_cstr("request too large");
    return 0;
  }
  uint8_t* buf = (uint8_t*)malloc(op_n + msg_n + 1);
  if (!buf) {
    wapc_fail_cstr("guest out of memory reading the request");
    return 0;
  }
  wapc_import_guest_request(buf, buf + op_n);
  int32_t rc = dispatch((const char*)buf, op_n, buf + op_n, msg_n);
  free(buf);
  return rc;
}

// ---------------------------------------------------------------------------------------------
// Kubewarden policy layer
// ---------------------------------------------------------------------------------------------

static const kw_policy* g_policy;

static int32_t respond_sb(kw_sb* sb) {
  if (sb->oom) {
    wapc_fail_cstr("guest out of memory serializing the reply");
    return 0;
  }
  wapc_respond(sb->data, sb->len);
  return 1;
}

int32_t kw_respond_validation(const kw_validation* v) {
  kw_sb sb;
  kw_sb_init(&sb);
  kw_write_validation(&sb, v);
  int32_t rc = respond_sb(&sb);
  kw_sb_free(&sb);
  return rc;
}

int32_t kw_respond_settings(const kw_settings_validation* v) {
  kw_sb sb;
  kw_sb_init(&sb);
  kw_write_settings_validation(&sb, v);
  int32_t rc = respond_sb(&sb);
  kw_sb_free(&sb);
  return rc;
}

static int32_t fail_with(const char* prefix, const char* detail) {
  kw_sb sb;
  kw_sb_init(&sb);
  kw_sb_append_cstr(&sb, prefix);
  kw_sb_append_cstr(&sb, detail ? detail : "unknown error");
  wapc_fail(kw_sb_cstr(&sb), sb.oom ? 0 : sb.len);
  kw_sb_free(&sb);
  return 0;
}

static int32_t fail_parse(const char* what, const kw_json_doc* doc) {
  kw_sb sb;
  kw_sb_init(&sb);
  kw_sb_append_cstr(&sb, what);
  kw_sb_append_cstr(&sb, ": ");
  kw_sb_append_cstr(&sb, kw_json_strerror(doc->error));
  kw_sb_append_cstr(&sb, " at offset ");
  kw_sb_append_u64(&sb, doc->error_offset);
  wapc_fail(kw_sb_cstr(&sb), sb.oom ? 0 : sb.len);
  kw_sb_free(&sb);
  return 0;
}

static int32_t handle_validate(const uint8_t* payload, size_t len) {
  if (g_policy->validate_raw) return g_policy->validate_raw(payload, len);
  if (!g_policy->validate) {
    wapc_fail_cstr("policy does not implement validate");
    return 0;
  }
  kw_json_doc doc;
  kw_json_doc_init(&doc);
  int32_t rc = 0;
  if (kw_json_parse(&doc, (const char*)payload, len) != KW_JSON_OK) {
    rc = fail_parse("cannot parse validation request", &doc);
  } else if (!kw_json_is(kw_json_get(doc.root, "request"), KW_JSON_OBJECT)) {
    wapc_fail_cstr("validation request has no request object");
  } else {
    kw_validation out = {false, NULL, 0, NULL};
    const kw_json* request = kw_json_get(doc.root, "request");
    const kw_json* settings = kw_json_get(doc.root, "settings");
    if (g_policy->validate(&doc, request, settings, &out)) {
      rc = kw_respond_validation(&out);
    } else {
      rc = fail_with("validation failed: ", out.message);
    }
  }
  kw_json_doc_free(&doc);
  return rc;
}

static bool only_whitespace(const uint8_t* p, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (p[i] != ' ' && p[i] != '\n' && p[i] != '\r' && p[i] != '\t') return false;
  }
  return true;
}

static int32_t handle_validate_settings(const uint8_t* payload, size_t len) {
  kw_settings_validation out = {true, NULL};
  if (!g_policy->validate_settings) return kw_respond_settings(&out);
  kw_json_doc doc;
  kw_json_doc_init(&doc);
  int32_t rc = 0;
  // Hosts may send no settings at all; that is "no settings", not a parse error.
  if (!only_whitespace(payload, len) &&
      kw_json_parse(&doc, (const char*)payload, len) != KW_JSON_OK) {
    out.valid = false;
    out.message = kw_json_strerror(doc.error);
    rc = kw_respond_settings(&out);
  } else if (g_policy->validate_settings(&doc, doc.root, &out)) {
    rc = kw_respond_settings(&out);
  } else {
    rc = fail_with("settings validation failed: ", out.message);
  }
  kw_json_doc_free(&doc);
  return rc;
}

static int32_t handle_protocol_version(const uint8_t* payload, size_t len) {
  wapc_respond_cstr("\"v1\"");
  return 1;
}

void kw_register_policy(const kw_policy* policy) {
  g_policy = policy;
  wapc_register_function("validate", handle_validate);
  wapc_register_function("validate_settings", handle_validate_settings);
  wapc_register_function("protocol_version", handle_protocol_version);
}

void kw_log(const char* level, const char* msg) {
  kw_sb sb;
  kw_sb_init(&sb);
  kw_sb_append_cstr(&sb, "{\"level\":");
  kw_sb_append_json_string(&sb, level, strlen(level));
  kw_sb_append_cstr(&sb, ",\"message\":");
  kw_sb_append_json_string(&sb, msg, strlen(msg));
  kw_sb_append_char(&sb, '}');
  if (!sb.oom) {
    wapc_host_result r;
    wapc_host_call("kubewarden", "tracing", "log", sb.data, sb.len, &r);
    wapc_host_result_free(&r);
  }
  kw_sb_free(&sb);
}
