// The settings_check policy as a WASI command module: objects must carry the annotation whose
// key the `required_annotation` setting names.
#include "wasi_guest.h"

#include <string.h>

static const char kInvalidSettings[] = "required_annotation must be a non-empty string";

// The configured key, or NULL when the settings do not name one.
static const kw_json* annotation_key(const kw_json* settings) {
  const kw_json* key = kw_json_get(settings, "required_annotation");
  if (!kw_json_is(key, KW_JSON_STRING) || key->len == 0) return NULL;
  return key;
}

static bool validate_settings(kw_json_doc* doc, const kw_json* settings,
                              kw_settings_validation* out) {
  out->valid = annotation_key(settings) != NULL;
  if (!out->valid) out->message = kInvalidSettings;
  return true;
}

// Built in the document's arena, which lives until the SDK has written the reply.
static const char* missing(kw_json_doc* doc, const kw_json* key) {
  static const char kPrefix[] = "missing required annotation: ";
  size_t prefix_len = sizeof(kPrefix) - 1;
  char* msg = kw_json_alloc(doc, prefix_len + key->len + 1);
  if (!msg) return "missing required annotation";
  memcpy(msg, kPrefix, prefix_len);
  memcpy(msg + prefix_len, key->u.str, key->len);
  msg[prefix_len + key->len] = '\0';
  return msg;
}

static bool validate(kw_json_doc* doc, const kw_json* request, const kw_json* settings,
                     kw_validation* out) {
  const kw_json* key = annotation_key(settings);
  if (!key) {
    out->message = kInvalidSettings;
    return true;
  }
  const kw_json* object = kw_json_get(request, "object");
  // DELETE requests carry no object, so there is no annotation to look for.
  if (!kw_json_is(object, KW_JSON_OBJECT)) {
    out->accepted = true;
    return true;
  }
  const kw_json* annotations = kw_json_path(object, "metadata.annotations");
  out->accepted = kw_json_getn(annotations, key->u.str, key->len) != NULL;
  if (!out->accepted) out->message = missing(doc, key);
  return true;
}

KW_WASI_POLICY(.validate = validate, .validate_settings = validate_settings)
