// Kubewarden WASI guest runtime. See wasi_guest.h.
#include "wasi_guest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { kReadChunk = 16 * 1024 };

// ---------------------------------------------------------------------------------------------
// stdin / stdout / stderr
// ---------------------------------------------------------------------------------------------

// Reads with read(2) rather than stdio: host-call replies arrive on stdin after it has already
// reported end-of-file once, and a FILE would remember that EOF (and may hold buffered bytes).
bool kw_wasi_read_stdin(kw_sb* sb) {
  for (;;) {
    if (!kw_sb_reserve(sb, kReadChunk)) return false;
    ssize_t n = read(STDIN_FILENO, sb->data + sb->len, sb->cap - sb->len - 1);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    sb->len += (size_t)n;
  }
  sb->data[sb->len] = '\0';
  return true;
}

static int fail(const char* prefix, const char* detail) {
  fputs(prefix, stderr);
  if (detail) fputs(detail, stderr);
  fputc('\n', stderr);
  return KW_WASI_EXIT_FAILURE;
}

static int fail_parse(const char* what, const kw_json_doc* doc) {
  fprintf(stderr, "%s: %s at offset %zu\n", what, kw_json_strerror(doc->error),
          doc->error_offset);
  return KW_WASI_EXIT_FAILURE;
}

// The reply is the whole of stdout, so nothing else may ever be printed there.
static int write_reply(kw_sb* sb) {
  if (sb->oom) return fail("guest out of memory serializing the reply", NULL);
  if (fwrite(sb->data, 1, sb->len, stdout) != sb->len || fflush(stdout) != 0) {
    return fail("cannot write the reply to stdout", NULL);
  }
  return KW_WASI_EXIT_OK;
}

static int reply_validation(const kw_validation* v) {
  kw_sb sb;
  kw_sb_init(&sb);
  kw_write_validation(&sb, v);
  int rc = write_reply(&sb);
  kw_sb_free(&sb);
  return rc;
}

static int reply_settings(const kw_settings_validation* v) {
  kw_sb sb;
  kw_sb_init(&sb);
  kw_write_settings_validation(&sb, v);
  int rc = write_reply(&sb);
  kw_sb_free(&sb);
  return rc;
}

// ---------------------------------------------------------------------------------------------
// Host capabilities
// ---------------------------------------------------------------------------------------------

bool kw_host_call(const char* binding, const char* ns, const char* op, const void* payload,
                  size_t len, kw_host_result* out) {
  out->ok = false;
  out->data = NULL;
  out->len = 0;
  int32_t rc = kw_wasi_import_host_call((const uint8_t*)binding, strlen(binding),
                                        (const uint8_t*)ns, strlen(ns), (const uint8_t*)op,
                                        strlen(op), (const uint8_t*)payload, len);
  kw_sb reply;
  kw_sb_init(&reply);
  if (!kw_wasi_read_stdin(&reply)) {
    kw_sb_free(&reply);
    return false;
  }
  // The builder's buffer becomes the result: it is already NUL-terminated.
  out->data = reply.data;
  out->len = reply.len;
  out->ok = rc == 0;
  return out->ok;
}

void kw_host_result_free(kw_host_result* r) {
  free(r->data);
  r->data = NULL;
  r->len = 0;
}

// ---------------------------------------------------------------------------------------------
// Actions
// ---------------------------------------------------------------------------------------------

static bool only_whitespace(const char* p, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (p[i] != ' ' && p[i] != '\n' && p[i] != '\r' && p[i] != '\t') return false;
  }
  return true;
}

static int run_validate(const kw_wasi_policy* policy, const kw_sb* input) {
  if (!policy->validate) return fail("policy does not implement validate", NULL);
  kw_json_doc doc;
  kw_json_doc_init(&doc);
  int rc;
  if (kw_json_parse(&doc, input->data, input->len) != KW_JSON_OK) {
    rc = fail_parse("cannot parse validation request", &doc);
  } else if (!kw_json_is(kw_json_get(doc.root, "request"), KW_JSON_OBJECT)) {
    rc = fail("validation request has no request object", NULL);
  } else {
    kw_validation out = {false, NULL, 0, NULL};
    const kw_json* request = kw_json_get(doc.root, "request");
    const kw_json* settings = kw_json_get(doc.root, "settings");
    if (policy->validate(&doc, request, settings, &out)) {
      rc = reply_validation(&out);
    } else {
      rc = fail("validation failed: ", out.message ? out.message : "unknown error");
    }
  }
  kw_json_doc_free(&doc);
  return rc;
}

static int run_validate_settings(const kw_wasi_policy* policy, const kw_sb* input) {
  kw_settings_validation out = {true, NULL};
  if (!policy->validate_settings) return reply_settings(&out);
  kw_json_doc doc;
  kw_json_doc_init(&doc);
  int rc;
  // An empty stdin means "no settings", not malformed ones.
  if (!only_whitespace(input->data, input->len) &&
      kw_json_parse(&doc, input->data, input->len) != KW_JSON_OK) {
    out.valid = false;
    out.message = kw_json_strerror(doc.error);
    rc = reply_settings(&out);
  } else if (policy->validate_settings(&doc, doc.root, &out)) {
    rc = reply_settings(&out);
  } else {
    rc = fail("settings validation failed: ", out.message ? out.message : "unknown error");
  }
  kw_json_doc_free(&doc);
  return rc;
}

int kw_wasi_main(const kw_wasi_policy* policy, int argc, char** argv) {
  if (argc < 2) {
    fputs("usage: policy.wasm validate|validate-settings\n", stderr);
    return KW_WASI_EXIT_USAGE;
  }
  bool validate = strcmp(argv[1], "validate") == 0;
  if (!validate && strcmp(argv[1], "validate-settings") != 0) {
    fail("unknown action: ", argv[1]);
    return KW_WASI_EXIT_USAGE;
  }
  kw_sb input;
  kw_sb_init(&input);
  int rc;
  if (!kw_wasi_read_stdin(&input)) {
    rc = fail("cannot read stdin", NULL);
  } else {
    rc = validate ? run_validate(policy, &input) : run_validate_settings(policy, &input);
  }
  kw_sb_free(&input);
  return rc;
}
