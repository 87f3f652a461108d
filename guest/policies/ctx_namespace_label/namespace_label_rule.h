// The ctx_namespace_label rule, shared by the waPC and WASI flavours: a request in namespace N
// is accepted only when the v1 Namespace N, found by listing every Namespace through
// kubewarden/kubernetes/list_resources_all, carries the label named by `required_label`.
#ifndef KW_GUEST_NAMESPACE_LABEL_RULE_H_
#define KW_GUEST_NAMESPACE_LABEL_RULE_H_

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "kw_response.h"

// Same contract as host_caller_transport: true with the reply, false with the error text.
typedef bool (*namespace_label_transport)(const char* binding, const char* ns, const char* op,
                                          const void* payload, size_t len, char** data,
                                          size_t* data_len);

// The SDKs serialize absent selectors as null, as policy-sdk-rust does.
static const char kListNamespaces[] =
    "{\"api_version\":\"v1\",\"kind\":\"Namespace\",\"label_selector\":null,"
    "\"field_selector\":null}";

static bool namespace_label_validate_settings(kw_json_doc* doc, const kw_json* settings,
                                              kw_settings_validation* out) {
  size_t len = 0;
  const char* label = kw_json_str(kw_json_get(settings, "required_label"), &len);
  out->valid = label && len > 0;
  if (!out->valid) out->message = "settings: `required_label` must be a non-empty string";
  return true;
}

// Builds "<a><b><c><d><e>" in the document (NULL when out of memory).
static const char* namespace_label_message(kw_json_doc* doc, const char* a, const char* b,
                                           size_t b_len, const char* c, const char* d, size_t d_len,
                                           const char* e) {
  kw_sb sb;
  kw_sb_init(&sb);
  kw_sb_append_cstr(&sb, a);
  kw_sb_append(&sb, b, b_len);
  kw_sb_append_cstr(&sb, c);
  kw_sb_append(&sb, d, d_len);
  kw_sb_append_cstr(&sb, e);
  const char* msg = sb.oom ? NULL : kw_json_strndup(doc, kw_sb_cstr(&sb), sb.len);
  kw_sb_free(&sb);
  return msg;
}

// The item of a List whose metadata.name is `name`, or NULL.
static const kw_json* namespace_label_find(const kw_json* list, const char* name, size_t len) {
  for (const kw_json* item = kw_json_first(kw_json_get(list, "items")); item; item = item->next) {
    size_t n = 0;
    const char* s = kw_json_str(kw_json_path(item, "metadata.name"), &n);
    if (s && n == len && memcmp(s, name, len) == 0) return item;
  }
  return NULL;
}

// Decides on the namespace list `reply`; false only when out of memory or the reply is no List.
static bool namespace_label_decide(kw_json_doc* doc, const char* reply, size_t reply_len,
                                   const char* ns, size_t ns_len, const char* label,
                                   size_t label_len, kw_validation* out) {
  kw_json_doc list;
  kw_json_doc_init(&list);
  bool ok = kw_json_parse(&list, reply, reply_len) == KW_JSON_OK;
  const kw_json* found = ok ? namespace_label_find(list.root, ns, ns_len) : NULL;
  const kw_json* labels = kw_json_path(found, "metadata.labels");
  out->accepted = found && kw_json_getn(labels, label, label_len) != NULL;
  if (!ok) {
    out->message = "the namespace list returned by the host is not JSON";
  } else if (!found) {
    out->message =
        namespace_label_message(doc, "namespace '", ns, ns_len, "' not found", "", 0, "");
  } else if (!out->accepted) {
    out->message =
        namespace_label_message(doc, "namespace '", ns, ns_len,
                                "' does not have the required label '", label, label_len, "'");
  }
  kw_json_doc_free(&list);
  if (ok && !out->accepted && !out->message) {
    out->message = "out of memory";
    return false;
  }
  return ok;
}

static bool namespace_label_validate(kw_json_doc* doc, const kw_json* request,
                                     const kw_json* settings, namespace_label_transport call,
                                     kw_validation* out) {
  size_t ns_len = 0, label_len = 0;
  const char* ns = kw_json_str(kw_json_get(request, "namespace"), &ns_len);
  const char* label = kw_json_str(kw_json_get(settings, "required_label"), &label_len);
  if (!label) {
    out->message = "settings: `required_label` must be a non-empty string";
    return false;
  }
  if (!ns || ns_len == 0) {  // cluster-scoped objects live in no namespace
    out->accepted = true;
    return true;
  }
  char* reply = NULL;
  size_t reply_len = 0;
  bool listed = call("kubewarden", "kubernetes", "list_resources_all", kListNamespaces,
                     sizeof kListNamespaces - 1, &reply, &reply_len);
  bool ok;
  if (listed) {
    ok = namespace_label_decide(doc, reply ? reply : "", reply_len, ns, ns_len, label, label_len,
                                out);
  } else {
    out->accepted = false;
    out->message = namespace_label_message(doc, "cannot list namespaces: ", reply ? reply : "",
                                           reply_len, "", "", 0, "");
    ok = out->message != NULL;
    if (!ok) out->message = "out of memory";
  }
  free(reply);
  return ok;
}

#endif  // KW_GUEST_NAMESPACE_LABEL_RULE_H_
