# carpd's own native addon (native/addon.cc): a raw IPv6 socket that hands the received hop
# limit and destination to JavaScript (native/ipv6_socket.cc), and a plain datagram socket for
# rtnetlink and the gratuitous ARP (native/host_socket.cc). npm runs `node-gyp rebuild` for it
# on `npm ci` because this file exists; the result is build/Release/carpd_native.node.
{
  "targets": [
    {
      "target_name": "carpd_native",
      "sources": ["native/addon.cc", "native/ipv6_socket.cc", "native/host_socket.cc"],
      # Node-API 8 (Node.js 12.22+): the ABI-stable subset, so one build serves every Node.js
      # release carpd supports.
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-Wall", "-Wextra", "-Werror=return-type"]
    }
  ]
}
