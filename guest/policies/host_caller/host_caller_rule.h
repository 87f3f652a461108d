// The host_caller rule, shared by the waPC (host_caller) and WASI (wasi_host_caller) flavours:
// only the host-call transport differs, so each flavour passes its own as a function pointer.
//
// Settings: {"binding": str, "namespace": str, "operation": str, "payload": <any JSON>}.
// The payload is sent as its compact JSON text, so a string setting goes out as a JSON string
// (what DNS lookups and manifest digests expect); no payload sends an empty one.
#ifndef KW_GUEST_HOST_CALLER_RULE_H_
#define KW_GUEST_HOST_CALLER_RULE_H_

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "kw_response.h"

// Calls the host; on return *data (malloc'd, may be NULL) holds the reply when the result is
// true, the host's error text otherwise.
typedef bool (*host_caller_transport)(const char* binding, const char* ns, const char* op,
                                      const void* payload, size_t len, char** data,
                                      size_t* data_len);

static const char* const kHostCallerKeys[] = {"binding", "namespace", "operation"};

// A NUL-terminated copy of settings[key] in the document, or NULL when it is not a string.
static const char* host_caller_setting(kw_json_doc* doc, const kw_json* settings, const char* key) {
  size_t len = 0;
  const char* s = kw_json_str(kw_json_get(settings, key), &len);
  return s ? kw_json_strndup(doc, s, len) : NULL;
}

static bool host_caller_validate_settings(kw_json_doc* doc, const kw_json* settings,
                                          kw_settings_validation* out) {
  out->valid = true;
  for (size_t i = 0; i < sizeof kHostCallerKeys / sizeof kHostCallerKeys[0]; i++) {
    if (!kw_json_is(kw_json_get(settings, kHostCallerKeys[i]), KW_JSON_STRING)) {
      kw_sb sb;
      kw_sb_init(&sb);
      kw_sb_append_cstr(&sb, "settings: `");
      kw_sb_append_cstr(&sb, kHostCallerKeys[i]);
      kw_sb_append_cstr(&sb, "` must be a string");
      out->valid = false;
      out->message = kw_json_strndup(doc, kw_sb_cstr(&sb), sb.len);
      kw_sb_free(&sb);
      if (!out->message) out->message = "settings: missing string field";
      return true;
    }
  }
  return true;
}

// Accepts with the reply as the message, or rejects with "host error: <error>".
static bool host_caller_validate(kw_json_doc* doc, const kw_json* settings,
                                 host_caller_transport call, kw_validation* out) {
  const char* binding = host_caller_setting(doc, settings, "binding");
  const char* ns = host_caller_setting(doc, settings, "namespace");
  const char* op = host_caller_setting(doc, settings, "operation");
  if (!binding || !ns || !op) {
    out->message = "settings: binding, namespace and operation must be strings";
    return false;
  }
  kw_sb payload;
  kw_sb_init(&payload);
  const kw_json* value = kw_json_get(settings, "payload");
  if (value) kw_json_write(&payload, value);
  char* data = NULL;
  size_t len = 0;
  bool ok = false;
  if (!payload.oom) ok = call(binding, ns, op, payload.data, payload.len, &data, &len);
  bool oom = payload.oom;
  kw_sb_free(&payload);

  const char* prefix = ok ? "" : "host error: ";
  size_t prefix_len = strlen(prefix);
  char* msg = oom ? NULL : kw_json_alloc(doc, prefix_len + len + 1);
  if (msg) {
    memcpy(msg, prefix, prefix_len);
    if (len) memcpy(msg + prefix_len, data, len);
    msg[prefix_len + len] = '\0';
  }
  free(data);
  out->accepted = ok;
  out->message = msg;
  if (!msg) {
    out->message = "out of memory";
    return false;
  }
  return true;
}

#endif  // KW_GUEST_HOST_CALLER_RULE_H_
