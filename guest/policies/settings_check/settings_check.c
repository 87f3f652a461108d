// Requires objects to carry the annotation named by the `required_annotation` setting.
#include "wapc_guest.h"

static const char kBadSettings[] = "required_annotation must be a non-empty string";

// Returns the configured annotation key, or NULL when the settings are invalid.
static const kw_json* required_annotation(const kw_json* settings) {
  const kw_json* key = kw_json_get(settings, "required_annotation");
  return (kw_json_is(key, KW_JSON_STRING) && key->len > 0) ? key : NULL;
}

static bool validate_settings(kw_json_doc* doc, const kw_json* settings,
                              kw_settings_validation* out) {
  out->valid = required_annotation(settings) != NULL;
  if (!out->valid) out->message = kBadSettings;
  return true;
}

static const char* missing_message(kw_json_doc* doc, const kw_json* key) {
  kw_sb sb;
  kw_sb_init(&sb);
  kw_sb_append_cstr(&sb, "missing required annotation: ");
  kw_sb_append(&sb, key->u.str, key->len);
  // Copy into the document arena so the message outlives the builder.
  const char* msg = sb.oom ? NULL : kw_json_strndup(doc, sb.data, sb.len);
  kw_sb_free(&sb);
  return msg ? msg : "missing required annotation";
}

static bool validate(kw_json_doc* doc, const kw_json* request, const kw_json* settings,
                     kw_validation* out) {
  const kw_json* key = required_annotation(settings);
  if (!key) {
    out->message = kBadSettings;
    return true;
  }
  const kw_json* object = kw_json_get(request, "object");
  // DELETE requests carry no object; there is nothing to check.
  if (!kw_json_is(object, KW_JSON_OBJECT)) {
    out->accepted = true;
    return true;
  }
  const kw_json* annotations = kw_json_path(object, "metadata.annotations");
  out->accepted = kw_json_getn(annotations, key->u.str, key->len) != NULL;
  if (!out->accepted) out->message = missing_message(doc, key);
  return true;
}

KW_POLICY(.validate = validate, .validate_settings = validate_settings)
