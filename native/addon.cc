// carpd's native addon: the classes the raw-socket package cannot provide (see each file).
#include <node_api.h>

void RegisterIpv6Socket(napi_env env, napi_value exports);
void RegisterHostSocket(napi_env env, napi_value exports);

namespace {

napi_value Init(napi_env env, napi_value exports) {
  RegisterIpv6Socket(env, exports);
  RegisterHostSocket(env, exports);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
