// Serialization of the Kubewarden reply types. See kw_response.h.
#include "kw_response.h"

#include <string.h>

void kw_write_validation(kw_sb* sb, const kw_validation* v) {
  kw_sb_append_cstr(sb, v->accepted ? "{\"accepted\":true" : "{\"accepted\":false");
  if (v->message) {
    kw_sb_append_cstr(sb, ",\"message\":");
    kw_sb_append_json_string(sb, v->message, strlen(v->message));
  }
  if (v->code) {
    kw_sb_append_cstr(sb, ",\"code\":");
    kw_sb_append_i64(sb, v->code);
  }
  if (v->mutated_object) {
    kw_sb_append_cstr(sb, ",\"mutated_object\":");
    kw_json_write(sb, v->mutated_object);
  }
  kw_sb_append_char(sb, '}');
}

void kw_write_settings_validation(kw_sb* sb, const kw_settings_validation* v) {
  kw_sb_append_cstr(sb, v->valid ? "{\"valid\":true" : "{\"valid\":false");
  if (v->message) {
    kw_sb_append_cstr(sb, ",\"message\":");
    kw_sb_append_json_string(sb, v->message, strlen(v->message));
  }
  kw_sb_append_char(sb, '}');
}
