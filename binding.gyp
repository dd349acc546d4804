# carpd's own native addon: a raw IPv6 socket that hands the received hop limit and
# destination to JavaScript (native/ipv6_socket.cc). npm runs `node-gyp rebuild` for it on
# `npm ci` because this file exists; the result is build/Release/ipv6_socket.node.
{
  "targets": [
    {
      "target_name": "ipv6_socket",
      "sources": ["native/ipv6_socket.cc"],
      # Node-API 8 (Node.js 12.22+): the ABI-stable subset, so one build serves every Node.js
      # release carpd supports.
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-Wall", "-Wextra", "-Werror=return-type"]
    }
  ]
}
