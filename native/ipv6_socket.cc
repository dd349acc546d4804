// carpd's raw IPv6 socket: one IP protocol, one interface, the received hop limit and
// destination address handed to JavaScript with every datagram. With family 4 the same class is
// the IPv4 adverts' receiving socket (the whole datagram, IP header included, as an IPv4 raw
// socket reads it; IPv4 sends go through native/host_socket.cc).
//
// Every datagram also carries the time the kernel took it off the wire (SO_TIMESTAMPNS), so a
// backup's master-down timer runs from the advert's arrival, not from when the event loop got
// round to it (0.1-0.3 ms later on an idle 2-core VM, bench:vrrp). It is handed over on
// CLOCK_MONOTONIC, the clock of process.hrtime(), rather than as an age: an age read here is
// already 50-100 µs old when the JavaScript that uses it reads its own clock (bench:vrrp marks).
//
// Why an addon of our own: CARP and VRRPv3 over IPv6 must drop any advert whose hop limit is
// not 255 (a packet from off the link), and on an IPv6 raw socket the kernel strips the IPv6
// header, so the hop limit and the destination only exist as ancillary data (IPV6_HOPLIMIT,
// IPV6_PKTINFO) that recvmsg returns. The raw-socket package reads with recvfrom and has no
// way to ask for them. This file is plain Node-API (node_api.h) plus libuv for readability:
// no C++ wrapper library, no new dependency, one ABI-stable binary across Node.js versions.
//
// Everything runs on the JavaScript thread; only socket setup is a blocking call (a handful of
// setsockopt). Reads are non-blocking and driven by uv_poll; sends are a single non-blocking
// sendmsg whose EAGAIN the JavaScript wrapper retries.
//
// No IPV6_CHECKSUM is set: carpd computes its own checksums (CARP's is a plain Internet
// checksum over the CARP header, VRRPv3's covers the IPv6 pseudo-header and carpd builds it).
// For IPPROTO_ICMPV6 the kernel always fills the checksum in itself, so this one class also
// sends neighbour advertisements.

#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

namespace {

using carpd_native::GetString;
using carpd_native::IsFunction;
using carpd_native::IsNullish;
using carpd_native::SystemError;
using carpd_native::ThrowSystemError;
using carpd_native::ThrowTypeError;

// A poll wake-up reads at most this many datagrams before yielding to the event loop. uv_poll
// is level-triggered, so what is left is read on the next loop iteration: a flood cannot starve
// timers (the adverts we must send) the way an unbounded read-until-EAGAIN loop would.
constexpr int kMaxDatagramsPerWakeup = 64;
// The largest IPv6 payload without jumbograms: nothing can be truncated.
constexpr size_t kReceiveBufferSize = 65535;

struct Ipv6Socket {
  napi_env env;
  // Strong while open, so an open socket is not collected while its poll handle delivers to it
  // (as Node's own sockets stay alive while open); weak after close().
  napi_ref wrapper;
  napi_ref on_packet;
  napi_ref on_error;
  napi_async_context async_context;
  uv_poll_t poll;
  int fd;
  int family;
  unsigned ifindex;
  char ifname[IF_NAMESIZE];
  bool closed;
  // uv_poll_init done and its close callback not yet run: the struct must outlive the handle.
  bool handle_open;
  bool finalized;
  unsigned char buffer[kReceiveBufferSize];
};

bool GetAddress(napi_env env, napi_value value, int family, void* addr, const char* what) {
  char text[INET6_ADDRSTRLEN];
  if (!GetString(env, value, text, sizeof text, what)) return false;
  if (inet_pton(family, text, addr) != 1) {
    char message[128];
    snprintf(message, sizeof message, "%s must be an IPv%d address, received \"%s\"", what, family == AF_INET ? 4 : 6, text);
    ThrowTypeError(env, message);
    return false;
  }
  return true;
}

bool GetAddress(napi_env env, napi_value value, struct in6_addr* addr, const char* what) {
  return GetAddress(env, value, AF_INET6, addr, what);
}

// When (ms on CLOCK_MONOTONIC) the kernel stamped the datagram: NaN without a stamp. The stamp
// is CLOCK_REALTIME; it is moved onto the monotonic clock by its age against the realtime clock
// read here, microseconds before the monotonic one, so only a step of the wall clock in between
// could make it wrong (the JavaScript side bounds the age).
double ReceivedMs(struct msghdr& msg) {
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS || c->cmsg_len < CMSG_LEN(sizeof(struct timespec))) continue;
    struct timespec stamp, now, mono;
    memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
    clock_gettime(CLOCK_REALTIME, &now);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    const double age = static_cast<double>(now.tv_sec - stamp.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec - stamp.tv_nsec) / 1e6;
    return static_cast<double>(mono.tv_sec) * 1e3 + static_cast<double>(mono.tv_nsec) / 1e6 - age;
  }
  return NAN;
}

void FreeIfDone(Ipv6Socket* s) {
  if (s->finalized && !s->handle_open) free(s);
}

void OnHandleClosed(uv_handle_t* handle) {
  Ipv6Socket* s = static_cast<Ipv6Socket*>(handle->data);
  s->handle_open = false;
  FreeIfDone(s);
}

// Stops delivery and releases the descriptor. The poll handle is closed before the fd, as
// libuv requires; its memory is freed later, in OnHandleClosed.
void CloseSocket(napi_env env, Ipv6Socket* s) {
  if (s->closed) return;
  s->closed = true;
  if (s->handle_open) uv_close(reinterpret_cast<uv_handle_t*>(&s->poll), OnHandleClosed);
  close(s->fd);
  s->fd = -1;
  if (s->on_packet) napi_delete_reference(env, s->on_packet);
  if (s->on_error) napi_delete_reference(env, s->on_error);
  s->on_packet = s->on_error = nullptr;
  if (s->async_context) napi_async_destroy(env, s->async_context);
  s->async_context = nullptr;
  if (s->wrapper && !s->finalized) napi_reference_unref(env, s->wrapper, nullptr);
}

void Finalize(napi_env env, void* data, void*) {
  Ipv6Socket* s = static_cast<Ipv6Socket*>(data);
  CloseSocket(env, s);
  s->finalized = true;
  if (s->wrapper) napi_delete_reference(env, s->wrapper);
  s->wrapper = nullptr;
  FreeIfDone(s);
}

// Calls fn(args...) with the socket as `this`, inside the socket's async context (so promise
// jobs and process.nextTick run after it, as after any Node callback). A throw becomes an
// uncaught exception, as a throwing 'message' listener of a dgram socket does. false if it threw.
bool CallBack(Ipv6Socket* s, napi_ref fn_ref, size_t argc, napi_value* argv) {
  napi_env env = s->env;
  napi_value fn, self, result;
  if (fn_ref == nullptr || napi_get_reference_value(env, fn_ref, &fn) != napi_ok || fn == nullptr) return true;
  napi_get_reference_value(env, s->wrapper, &self);
  napi_status status = napi_make_callback(env, s->async_context, self, fn, argc, argv, &result);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (status != napi_ok || pending) {
    napi_value exception;
    if (napi_get_and_clear_last_exception(env, &exception) == napi_ok) napi_fatal_exception(env, exception);
    return false;
  }
  return true;
}

void ReportError(Ipv6Socket* s, int err, const char* syscall) {
  char what[64 + IF_NAMESIZE];
  snprintf(what, sizeof what, "%s on %s", syscall, s->ifname);
  napi_value error = SystemError(s->env, err, syscall, what);
  CallBack(s, s->on_error, 1, &error);
}

// Delivers one received datagram: (payload, src, dst, hopLimit, ifindex, receivedMs). hopLimit is -1
// and dst '' should the kernel ever omit the ancillary data: the input checks then drop the
// packet. IPv4: the whole datagram, src the sender, dst '' and hopLimit -1 (both are in its header).
bool Deliver(Ipv6Socket* s, size_t length, const struct sockaddr_storage& from_any, struct msghdr& msg) {
  napi_env env = s->env;
  napi_value argv[6];
  napi_create_double(env, ReceivedMs(msg), &argv[5]);
  if (s->family == AF_INET) {
    const struct sockaddr_in& from4 = reinterpret_cast<const struct sockaddr_in&>(from_any);
    char src4[INET_ADDRSTRLEN] = "";
    inet_ntop(AF_INET, &from4.sin_addr, src4, sizeof src4);
    napi_create_buffer_copy(env, length, s->buffer, nullptr, &argv[0]);
    napi_create_string_utf8(env, src4, NAPI_AUTO_LENGTH, &argv[1]);
    napi_create_string_utf8(env, "", 0, &argv[2]);
    napi_create_int32(env, -1, &argv[3]);
    napi_create_uint32(env, s->ifindex, &argv[4]);
    return CallBack(s, s->on_packet, 6, argv);
  }
  const struct sockaddr_in6& from = reinterpret_cast<const struct sockaddr_in6&>(from_any);
  int hop_limit = -1;
  struct in6_pktinfo info;
  bool have_info = false;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != IPPROTO_IPV6) continue;
    if (c->cmsg_type == IPV6_HOPLIMIT && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      memcpy(&hop_limit, CMSG_DATA(c), sizeof hop_limit);
    } else if (c->cmsg_type == IPV6_PKTINFO && c->cmsg_len >= CMSG_LEN(sizeof info)) {
      memcpy(&info, CMSG_DATA(c), sizeof info);
      have_info = true;
    }
  }
  char src[INET6_ADDRSTRLEN] = "";
  char dst[INET6_ADDRSTRLEN] = "";
  inet_ntop(AF_INET6, &from.sin6_addr, src, sizeof src);
  if (have_info) inet_ntop(AF_INET6, &info.ipi6_addr, dst, sizeof dst);
  napi_create_buffer_copy(env, length, s->buffer, nullptr, &argv[0]);
  napi_create_string_utf8(env, src, NAPI_AUTO_LENGTH, &argv[1]);
  napi_create_string_utf8(env, dst, NAPI_AUTO_LENGTH, &argv[2]);
  napi_create_int32(env, hop_limit, &argv[3]);
  napi_create_uint32(env, have_info ? info.ipi6_ifindex : s->ifindex, &argv[4]);
  return CallBack(s, s->on_packet, 6, argv);
}

void OnReadable(uv_poll_t* handle, int status, int) {
  Ipv6Socket* s = static_cast<Ipv6Socket*>(handle->data);
  if (s->closed) return;
  napi_handle_scope scope;
  napi_open_handle_scope(s->env, &scope);
  if (status < 0) {
    // libuv reports the poll itself failing; nothing more will arrive on this socket.
    uv_poll_stop(&s->poll);
    ReportError(s, -status, "poll");
  } else {
    for (int n = 0; n < kMaxDatagramsPerWakeup && !s->closed; n++) {
      struct sockaddr_storage from;
      union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct timespec)) + 64];
      } control;
      struct iovec iov = {s->buffer, sizeof s->buffer};
      struct msghdr msg;
      memset(&msg, 0, sizeof msg);
      msg.msg_name = &from;
      msg.msg_namelen = sizeof from;
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control.buf;
      msg.msg_controllen = sizeof control.buf;
      ssize_t got = recvmsg(s->fd, &msg, MSG_DONTWAIT);
      if (got < 0) {
        if (errno == EINTR) continue;
        // A pending socket error (sk_err) is returned once and cleared: report it and let the
        // next wake-up go on reading.
        if (errno != EAGAIN && errno != EWOULDBLOCK) ReportError(s, errno, "recvmsg");
        break;
      }
      napi_handle_scope inner;
      napi_open_handle_scope(s->env, &inner);
      bool ok = Deliver(s, static_cast<size_t>(got), from, msg);
      napi_close_handle_scope(s->env, inner);
      if (!ok) break;
    }
  }
  napi_close_handle_scope(s->env, scope);
}

Ipv6Socket* Unwrap(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv) {
  napi_value self;
  napi_get_cb_info(env, info, argc, argv, &self, nullptr);
  void* data = nullptr;
  if (napi_unwrap(env, self, &data) != napi_ok || data == nullptr) {
    ThrowTypeError(env, "not an Ipv6Socket");
    return nullptr;
  }
  return static_cast<Ipv6Socket*>(data);
}

napi_value ThrowClosed(napi_env env) {
  napi_value code, message, error;
  napi_create_string_utf8(env, "ERR_SOCKET_CLOSED", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, "the IPv6 socket is closed", NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_throw(env, error);
  return nullptr;
}

bool SetInt(napi_env env, Ipv6Socket* s, int level, int name, int value, const char* option) {
  if (setsockopt(s->fd, level, name, &value, sizeof value) == 0) return true;
  char what[64 + IF_NAMESIZE];
  snprintf(what, sizeof what, "setsockopt(%s) on %s", option, s->ifname);
  ThrowSystemError(env, errno, "setsockopt", what);
  return false;
}

// new Ipv6Socket(ifname, protocol, hopLimit, onPacket | null, onError | null, family = 6)
// With onPacket null the socket only sends: nothing is polled, and for ICMPv6 a filter that
// blocks every type keeps the kernel from queueing the link's neighbour discovery for us.
// family 4: receive only (onPacket required); join/leave take IPv4 groups.
napi_value New(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], self;
  napi_get_cb_info(env, info, &argc, argv, &self, nullptr);
  if (argc < 5) return ThrowTypeError(env, "Ipv6Socket(ifname, protocol, hopLimit, onPacket, onError, family)");
  int32_t family_number = 6;
  if (argc >= 6 && !IsNullish(env, argv[5])) napi_get_value_int32(env, argv[5], &family_number);
  if (family_number != 4 && family_number != 6) return ThrowTypeError(env, "family must be 4 or 6");
  const int family = family_number == 4 ? AF_INET : AF_INET6;
  char ifname[IF_NAMESIZE];
  if (!GetString(env, argv[0], ifname, sizeof ifname, "interface name")) return nullptr;
  int32_t protocol = -1, hop_limit = -1;
  napi_get_value_int32(env, argv[1], &protocol);
  napi_get_value_int32(env, argv[2], &hop_limit);
  if (protocol < 1 || protocol > 255) return ThrowTypeError(env, "protocol must be an integer from 1 to 255");
  if (hop_limit < 1 || hop_limit > 255) return ThrowTypeError(env, "hopLimit must be an integer from 1 to 255");
  bool receiving = !IsNullish(env, argv[3]);
  if (receiving && !IsFunction(env, argv[3])) return ThrowTypeError(env, "onPacket must be a function or null");
  if (family == AF_INET && !receiving) return ThrowTypeError(env, "an IPv4 socket of this kind only receives: onPacket is required");
  if (!IsNullish(env, argv[4]) && !IsFunction(env, argv[4])) return ThrowTypeError(env, "onError must be a function or null");

  Ipv6Socket* s = static_cast<Ipv6Socket*>(calloc(1, sizeof(Ipv6Socket)));
  if (s == nullptr) return ThrowSystemError(env, ENOMEM, "calloc", "allocating the IPv6 socket");
  s->env = env;
  s->family = family;
  memcpy(s->ifname, ifname, sizeof ifname);
  s->fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (s->fd < 0) {
    int err = errno;
    free(s);
    char what[80];
    snprintf(what, sizeof what, "socket(%s, SOCK_RAW, %d)", family == AF_INET ? "AF_INET" : "AF_INET6", protocol);
    return ThrowSystemError(env, err, "socket", what);
  }
  auto fail = [&]() -> napi_value {
    close(s->fd);
    free(s);
    return nullptr;
  };
  // The index from the socket's own network namespace (not /sys, which may be another's).
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, ifname, sizeof ifname);
  if (ioctl(s->fd, SIOCGIFINDEX, &ifr) < 0) {
    char what[64 + IF_NAMESIZE];
    snprintf(what, sizeof what, "interface %s", ifname);
    ThrowSystemError(env, errno, "ioctl", what);
    return fail();
  }
  s->ifindex = static_cast<unsigned>(ifr.ifr_ifindex);
  // Bound to the interface: a host with several links never hears or sends one link's
  // adverts on another.
  if (setsockopt(s->fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, strlen(ifname) + 1) < 0) {
    char what[64 + IF_NAMESIZE];
    snprintf(what, sizeof what, "setsockopt(SO_BINDTODEVICE, %s)", ifname);
    ThrowSystemError(env, errno, "setsockopt", what);
    return fail();
  }
  // The kernel's receive time of every datagram; without it (never seen) receive times are NaN.
  int on = 1;
  setsockopt(s->fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  if (family == AF_INET) {
    struct ip_mreqn via;
    memset(&via, 0, sizeof via);
    via.imr_ifindex = static_cast<int>(s->ifindex);
    if (!SetInt(env, s, IPPROTO_IP, IP_MULTICAST_TTL, hop_limit, "IP_MULTICAST_TTL") ||
        !SetInt(env, s, IPPROTO_IP, IP_MULTICAST_LOOP, 0, "IP_MULTICAST_LOOP")) {
      return fail();
    }
    if (setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_IF, &via, sizeof via) < 0) {
      ThrowSystemError(env, errno, "setsockopt", "setsockopt(IP_MULTICAST_IF)");
      return fail();
    }
  } else if (!SetInt(env, s, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT") ||
      !SetInt(env, s, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO") ||
      !SetInt(env, s, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, hop_limit, "IPV6_MULTICAST_HOPS") ||
      !SetInt(env, s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, hop_limit, "IPV6_UNICAST_HOPS") ||
      // Our own adverts need not come back to us.
      !SetInt(env, s, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0, "IPV6_MULTICAST_LOOP") ||
      !SetInt(env, s, IPPROTO_IPV6, IPV6_MULTICAST_IF, static_cast<int>(s->ifindex), "IPV6_MULTICAST_IF")) {
    return fail();
  }
  if (!receiving && protocol == IPPROTO_ICMPV6) {
    struct icmp6_filter filter;
    ICMP6_FILTER_SETBLOCKALL(&filter);
    if (setsockopt(s->fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter) < 0) {
      ThrowSystemError(env, errno, "setsockopt", "setsockopt(ICMP6_FILTER)");
      return fail();
    }
  }

  if (napi_wrap(env, self, s, Finalize, nullptr, &s->wrapper) != napi_ok) {
    ThrowTypeError(env, "Ipv6Socket must be called with new");
    return fail();
  }
  // From here on the finalizer owns s; failures close it and leave it to the finalizer.
  napi_reference_ref(env, s->wrapper, nullptr);
  napi_value ifindex;
  napi_create_uint32(env, s->ifindex, &ifindex);
  napi_property_descriptor property = {"ifindex", nullptr, nullptr, nullptr, nullptr, ifindex, napi_enumerable, nullptr};
  napi_define_properties(env, self, 1, &property);
  if (!IsNullish(env, argv[4])) napi_create_reference(env, argv[4], 1, &s->on_error);
  if (receiving) {
    napi_create_reference(env, argv[3], 1, &s->on_packet);
    napi_value name;
    napi_create_string_utf8(env, family == AF_INET ? "carpd:Ipv4Socket" : "carpd:Ipv6Socket", NAPI_AUTO_LENGTH, &name);
    napi_async_init(env, self, name, &s->async_context);
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    int err = uv_poll_init(loop, &s->poll, s->fd);
    if (err == 0) {
      s->handle_open = true;
      s->poll.data = s;
      err = uv_poll_start(&s->poll, UV_READABLE, OnReadable);
    }
    if (err != 0) {
      CloseSocket(env, s);
      return ThrowSystemError(env, -err, "uv_poll_start", family == AF_INET ? "polling the IPv4 socket" : "polling the IPv6 socket");
    }
  }
  return self;
}

// join(group) / leave(group): IPV6_JOIN_GROUP / IPV6_LEAVE_GROUP on our interface.
napi_value Membership(napi_env env, napi_callback_info info, int option, const char* option_name) {
  size_t argc = 1;
  napi_value argv[1];
  Ipv6Socket* s = Unwrap(env, info, &argc, argv);
  if (s == nullptr) return nullptr;
  if (s->closed) return ThrowClosed(env);
  if (argc < 1) return ThrowTypeError(env, "group is required");
  if (s->family == AF_INET) {
    struct ip_mreqn mreq4;
    memset(&mreq4, 0, sizeof mreq4);
    if (!GetAddress(env, argv[0], AF_INET, &mreq4.imr_multiaddr, "group")) return nullptr;
    mreq4.imr_ifindex = static_cast<int>(s->ifindex);
    const bool join = option == IPV6_JOIN_GROUP;
    if (setsockopt(s->fd, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &mreq4, sizeof mreq4) < 0) {
      char group[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &mreq4.imr_multiaddr, group, sizeof group);
      char what[96 + IF_NAMESIZE];
      snprintf(what, sizeof what, "setsockopt(%s, %s) on %s", join ? "IP_ADD_MEMBERSHIP" : "IP_DROP_MEMBERSHIP", group, s->ifname);
      return ThrowSystemError(env, errno, "setsockopt", what);
    }
    return nullptr;
  }
  struct ipv6_mreq mreq;
  memset(&mreq, 0, sizeof mreq);
  if (!GetAddress(env, argv[0], &mreq.ipv6mr_multiaddr, "group")) return nullptr;
  mreq.ipv6mr_interface = s->ifindex;
  if (setsockopt(s->fd, IPPROTO_IPV6, option, &mreq, sizeof mreq) < 0) {
    char group[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &mreq.ipv6mr_multiaddr, group, sizeof group);
    char what[96 + IF_NAMESIZE];
    snprintf(what, sizeof what, "setsockopt(%s, %s) on %s", option_name, group, s->ifname);
    return ThrowSystemError(env, errno, "setsockopt", what);
  }
  return nullptr;
}

napi_value Join(napi_env env, napi_callback_info info) {
  return Membership(env, info, IPV6_JOIN_GROUP, "IPV6_JOIN_GROUP");
}

napi_value Leave(napi_env env, napi_callback_info info) {
  return Membership(env, info, IPV6_LEAVE_GROUP, "IPV6_LEAVE_GROUP");
}

// send(payload, dst, src | null): one non-blocking sendmsg; throws the errno (EAGAIN included,
// which the wrapper retries). With src the kernel sends from it (IPV6_PKTINFO: it must be an
// address of this host); without, it picks one, the link-local address for ff02::/16.
napi_value Send(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  Ipv6Socket* s = Unwrap(env, info, &argc, argv);
  if (s == nullptr) return nullptr;
  if (s->closed) return ThrowClosed(env);
  if (argc < 2) return ThrowTypeError(env, "send(payload, dst, src)");
  if (s->family == AF_INET) return ThrowTypeError(env, "an IPv4 socket of this kind only receives");
  bool is_buffer = false;
  napi_is_buffer(env, argv[0], &is_buffer);
  if (!is_buffer) return ThrowTypeError(env, "payload must be a Buffer");
  void* data = nullptr;
  size_t length = 0;
  napi_get_buffer_info(env, argv[0], &data, &length);
  struct sockaddr_in6 to;
  memset(&to, 0, sizeof to);
  to.sin6_family = AF_INET6;
  if (!GetAddress(env, argv[1], &to.sin6_addr, "dst")) return nullptr;
  // A link-scoped destination needs its scope; it is our interface (the socket is bound to it).
  if (IN6_IS_ADDR_LINKLOCAL(&to.sin6_addr) || IN6_IS_ADDR_MC_LINKLOCAL(&to.sin6_addr)) to.sin6_scope_id = s->ifindex;

  struct iovec iov = {data, length};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_name = &to;
  msg.msg_namelen = sizeof to;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
  } control;
  if (argc >= 3 && !IsNullish(env, argv[2])) {
    struct in6_pktinfo pktinfo;
    memset(&pktinfo, 0, sizeof pktinfo);
    if (!GetAddress(env, argv[2], &pktinfo.ipi6_addr, "src")) return nullptr;
    pktinfo.ipi6_ifindex = s->ifindex;
    memset(&control, 0, sizeof control);
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof pktinfo);
    memcpy(CMSG_DATA(c), &pktinfo, sizeof pktinfo);
  }
  ssize_t sent;
  do {
    sent = sendmsg(s->fd, &msg, MSG_DONTWAIT);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    char dst[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &to.sin6_addr, dst, sizeof dst);
    char what[96 + IF_NAMESIZE];
    snprintf(what, sizeof what, "sendmsg to %s on %s", dst, s->ifname);
    return ThrowSystemError(env, errno, "sendmsg", what);
  }
  return nullptr;
}

napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Ipv6Socket* s = Unwrap(env, info, &argc, nullptr);
  if (s != nullptr) CloseSocket(env, s);
  return nullptr;
}

}  // namespace

// Adds the Ipv6Socket class to the addon's exports (native/addon.cc).
void RegisterIpv6Socket(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"join", nullptr, Join, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"leave", nullptr, Leave, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"send", nullptr, Send, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"close", nullptr, Close, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_value cls;
  napi_define_class(env, "Ipv6Socket", NAPI_AUTO_LENGTH, New, nullptr, sizeof methods / sizeof methods[0], methods, &cls);
  napi_set_named_property(env, exports, "Ipv6Socket", cls);
}
