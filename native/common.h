// Helpers shared by the addon's classes (native/ipv6_socket.cc, native/host_socket.cc).
#ifndef CARPD_NATIVE_COMMON_H_
#define CARPD_NATIVE_COMMON_H_

#include <node_api.h>
#include <uv.h>

#include <stdio.h>
#include <string.h>

namespace carpd_native {

// Node's convention for system errors: message "<what>: <strerror>", code "EPERM",
// errno negative (libuv's numbering), syscall.
inline napi_value SystemError(napi_env env, int err, const char* syscall, const char* what) {
  char name[32];
  uv_err_name_r(-err, name, sizeof name);
  char text[320];
  snprintf(text, sizeof text, "%s: %s", what, strerror(err));
  napi_value code, message, error, errno_value, syscall_value;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, -err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value);
  napi_set_named_property(env, error, "syscall", syscall_value);
  return error;
}

inline napi_value ThrowSystemError(napi_env env, int err, const char* syscall, const char* what) {
  napi_throw(env, SystemError(env, err, syscall, what));
  return nullptr;
}

inline napi_value ThrowTypeError(napi_env env, const char* message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return nullptr;
}

// Reads a JS string into buf; false (and a TypeError thrown) if it is not a string or too long.
inline bool GetString(napi_env env, napi_value value, char* buf, size_t size, const char* what) {
  napi_valuetype type;
  napi_typeof(env, value, &type);
  size_t length = 0;
  if (type != napi_string || napi_get_value_string_utf8(env, value, nullptr, 0, &length) != napi_ok ||
      length >= size) {
    char message[128];
    snprintf(message, sizeof message, "%s must be a string shorter than %zu bytes", what, size);
    ThrowTypeError(env, message);
    return false;
  }
  napi_get_value_string_utf8(env, value, buf, size, &length);
  return true;
}

inline bool IsNullish(napi_env env, napi_value value) {
  napi_valuetype type;
  napi_typeof(env, value, &type);
  return type == napi_undefined || type == napi_null;
}

inline bool IsFunction(napi_env env, napi_value value) {
  napi_valuetype type;
  napi_typeof(env, value, &type);
  return type == napi_function;
}

}  // namespace carpd_native

#endif  // CARPD_NATIVE_COMMON_H_
