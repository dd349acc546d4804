// carpd's host socket: a non-blocking datagram socket of any family, driven synchronously from
// JavaScript. carpd uses it for what it used to start a process for on every takeover:
//  - rtnetlink (AF_NETLINK, NETLINK_ROUTE): adding and removing the VIPs, as `ip addr` does;
//  - a packet socket (AF_PACKET, SOCK_DGRAM): the gratuitous ARP, as arping does;
// and to send IPv4 adverts at once (AF_INET, SOCK_RAW, IPPROTO_RAW): raw-socket queues every
// send until the event loop's next poll phase, behind whatever else the takeover does first.
//
// Why: Node forks itself for every child process, and even through carpd's launcher shell an
// `ip addr add` took about 5 ms from the takeover to the VIP on the interface, and the arping
// another 6 ms after it, where keepalived, which talks netlink and writes the ARP frame itself,
// needs 0.3 ms (bench:vrrp). No process and no thread here: the kernel handles an rtnetlink
// request inside sendto() (the address is on the interface when send returns) and queues the
// acknowledgement before it returns, so a non-blocking recv right after reads it.
//
// The messages themselves (netlink headers, attributes, the ARP frame, the sockaddr) are built
// and parsed in TypeScript (lib/net/rtnetlink.ts, lib/net/arp.ts): this file only moves bytes.
//
// new HostSocket(domain, type, protocol)   socket(2), non-blocking and close-on-exec
// bind(sockaddr: Buffer)                   bind(2) to the address given as raw sockaddr bytes
// setOption(level, name, value)            setsockopt(2); value an integer or a Buffer
// send(data: Buffer, to: Buffer | null)    one sendto(2); the bytes sent; throws on failure
// receive(buffer: Buffer)                  one recv(2) into buffer: the datagram's full length
//                                          (more than buffer.length: truncated), -1 if none waits
// close()
// interfaceIndex(name)                     if_nametoindex(3); 0 when there is no such interface

#include <node_api.h>

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

namespace {

using carpd_native::GetString;
using carpd_native::IsNullish;
using carpd_native::ThrowSystemError;
using carpd_native::ThrowTypeError;

struct HostSocket {
  int fd;
  int domain;
};

HostSocket* Unwrap(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv) {
  napi_value self;
  napi_get_cb_info(env, info, argc, argv, &self, nullptr);
  void* data = nullptr;
  if (napi_unwrap(env, self, &data) != napi_ok || data == nullptr) {
    ThrowTypeError(env, "not a HostSocket");
    return nullptr;
  }
  HostSocket* s = static_cast<HostSocket*>(data);
  if (s->fd < 0) {
    napi_value code, message, error;
    napi_create_string_utf8(env, "ERR_SOCKET_CLOSED", NAPI_AUTO_LENGTH, &code);
    napi_create_string_utf8(env, "the host socket is closed", NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, code, message, &error);
    napi_throw(env, error);
    return nullptr;
  }
  return s;
}

bool GetInt(napi_env env, napi_value value, int32_t* out, const char* what) {
  napi_valuetype type;
  napi_typeof(env, value, &type);
  if (type != napi_number || napi_get_value_int32(env, value, out) != napi_ok) {
    char message[96];
    snprintf(message, sizeof message, "%s must be an integer", what);
    ThrowTypeError(env, message);
    return false;
  }
  return true;
}

bool GetBuffer(napi_env env, napi_value value, void** data, size_t* length, const char* what) {
  bool is_buffer = false;
  napi_is_buffer(env, value, &is_buffer);
  if (!is_buffer || napi_get_buffer_info(env, value, data, length) != napi_ok) {
    char message[96];
    snprintf(message, sizeof message, "%s must be a Buffer", what);
    ThrowTypeError(env, message);
    return false;
  }
  return true;
}

void Finalize(napi_env, void* data, void*) {
  HostSocket* s = static_cast<HostSocket*>(data);
  if (s->fd >= 0) close(s->fd);
  free(s);
}

napi_value New(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], self;
  napi_get_cb_info(env, info, &argc, argv, &self, nullptr);
  if (argc < 3) return ThrowTypeError(env, "HostSocket(domain, type, protocol)");
  int32_t domain, type, protocol;
  if (!GetInt(env, argv[0], &domain, "domain") || !GetInt(env, argv[1], &type, "type") ||
      !GetInt(env, argv[2], &protocol, "protocol")) {
    return nullptr;
  }
  int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) {
    char what[64];
    snprintf(what, sizeof what, "socket(%d, %d, %d)", domain, type, protocol);
    return ThrowSystemError(env, errno, "socket", what);
  }
  HostSocket* s = static_cast<HostSocket*>(calloc(1, sizeof(HostSocket)));
  if (s == nullptr) {
    close(fd);
    return ThrowSystemError(env, ENOMEM, "calloc", "HostSocket");
  }
  s->fd = fd;
  s->domain = domain;
  if (napi_wrap(env, self, s, Finalize, nullptr, nullptr) != napi_ok) {
    close(fd);
    free(s);
    return ThrowTypeError(env, "cannot wrap the host socket");
  }
  return self;
}

napi_value Bind(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  HostSocket* s = Unwrap(env, info, &argc, argv);
  if (s == nullptr) return nullptr;
  void* address;
  size_t length;
  if (argc < 1 || !GetBuffer(env, argv[0], &address, &length, "sockaddr")) return nullptr;
  if (bind(s->fd, static_cast<struct sockaddr*>(address), static_cast<socklen_t>(length)) != 0) {
    return ThrowSystemError(env, errno, "bind", "bind");
  }
  return nullptr;
}

napi_value SetOption(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  HostSocket* s = Unwrap(env, info, &argc, argv);
  if (s == nullptr) return nullptr;
  int32_t level, name;
  if (argc < 3 || !GetInt(env, argv[0], &level, "level") || !GetInt(env, argv[1], &name, "name")) return nullptr;
  napi_valuetype type;
  napi_typeof(env, argv[2], &type);
  int result;
  if (type == napi_number) {
    int32_t value;
    if (!GetInt(env, argv[2], &value, "value")) return nullptr;
    int v = value;
    result = setsockopt(s->fd, level, name, &v, sizeof v);
  } else {
    void* data;
    size_t length;
    if (!GetBuffer(env, argv[2], &data, &length, "value")) return nullptr;
    result = setsockopt(s->fd, level, name, data, static_cast<socklen_t>(length));
  }
  if (result != 0) {
    char what[64];
    snprintf(what, sizeof what, "setsockopt(%d, %d)", level, name);
    return ThrowSystemError(env, errno, "setsockopt", what);
  }
  return nullptr;
}

napi_value Send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  HostSocket* s = Unwrap(env, info, &argc, argv);
  if (s == nullptr) return nullptr;
  void* data;
  size_t length;
  if (argc < 1 || !GetBuffer(env, argv[0], &data, &length, "data")) return nullptr;
  void* to = nullptr;
  size_t to_length = 0;
  if (argc >= 2 && !IsNullish(env, argv[1]) && !GetBuffer(env, argv[1], &to, &to_length, "to")) return nullptr;
  ssize_t sent;
  do {
    sent = sendto(s->fd, data, length, MSG_DONTWAIT, static_cast<struct sockaddr*>(to), static_cast<socklen_t>(to_length));
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) return ThrowSystemError(env, errno, "sendto", "sendto");
  napi_value result;
  napi_create_int64(env, sent, &result);
  return result;
}

napi_value Receive(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  HostSocket* s = Unwrap(env, info, &argc, argv);
  if (s == nullptr) return nullptr;
  void* data;
  size_t length;
  if (argc < 1 || !GetBuffer(env, argv[0], &data, &length, "buffer")) return nullptr;
  ssize_t got;
  do {
    // MSG_TRUNC: the datagram's real length, so the caller knows its buffer was too small.
    got = recv(s->fd, data, length, MSG_DONTWAIT | MSG_TRUNC);
  } while (got < 0 && errno == EINTR);
  if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return ThrowSystemError(env, errno, "recv", "recv");
  napi_value result;
  napi_create_int64(env, got < 0 ? -1 : got, &result);
  return result;
}

napi_value Close(napi_env env, napi_callback_info info) {
  napi_value self;
  size_t argc = 0;
  napi_get_cb_info(env, info, &argc, nullptr, &self, nullptr);
  void* data = nullptr;
  if (napi_unwrap(env, self, &data) != napi_ok || data == nullptr) return ThrowTypeError(env, "not a HostSocket");
  HostSocket* s = static_cast<HostSocket*>(data);
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  return nullptr;
}

napi_value InterfaceIndex(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  char name[IF_NAMESIZE];
  if (argc < 1 || !GetString(env, argv[0], name, sizeof name, "interface name")) return nullptr;
  napi_value result;
  napi_create_uint32(env, if_nametoindex(name), &result);
  return result;
}

}  // namespace

// Adds HostSocket and interfaceIndex to the addon's exports (native/addon.cc).
void RegisterHostSocket(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"bind", nullptr, Bind, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setOption", nullptr, SetOption, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"send", nullptr, Send, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"receive", nullptr, Receive, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"close", nullptr, Close, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_value cls;
  napi_define_class(env, "HostSocket", NAPI_AUTO_LENGTH, New, nullptr, sizeof methods / sizeof methods[0], methods, &cls);
  napi_set_named_property(env, exports, "HostSocket", cls);
  napi_value fn;
  napi_create_function(env, "interfaceIndex", NAPI_AUTO_LENGTH, InterfaceIndex, nullptr, &fn);
  napi_set_named_property(env, exports, "interfaceIndex", fn);
}
