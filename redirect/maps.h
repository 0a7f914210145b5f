//go:build ignore

// Maps and shared definitions of Rampart's capture programs. One copy of every map
// is loaded per pod, so keys never need a pod or namespace qualifier.
#pragma once

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

// Constants from socket headers that are awkward to include with -target bpf.
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define IPPROTO_TCP 6
#define SOL_IP 0
#define SOL_IPV6 41
#define SO_ORIGINAL_DST 80 // also IP6T_SO_ORIGINAL_DST

// Indexes of the stats array, mirrored by the Go Stat constants.
enum stat {
	STAT_REDIRECTED = 0,
	STAT_SKIPPED_PROXY,
	STAT_SKIPPED_EXCLUDED,
	STAT_ORIGDST_ANSWERED,
	STAT_ORIGDST_MISSED,
	STAT_INBOUND_STEERED,
	STAT_INBOUND_NO_LISTENER,
	STAT_MAX,
};

struct config {
	__u64 proxy_cgroup_id; // 0: no proxy cgroup known
	__u32 proxy_uid;       // 0xffffffff: no uid exemption
	__u16 outbound_port;   // 15001
	__u16 inbound_port;    // 15006
	__u16 tunnel_port;     // 15008, never steered inbound
	__u16 mode;            // recorded for the agent; the kernel path is the same
	__u32 accelerate;      // 1: put app<->proxy sockets into the sk_msg sockhash
	__u32 pod_ip4;         // shown by getsockname on redirected sockets; 0: none
	__u32 pod_ip6[4];      // likewise for IPv6; all zero: none
};

// An address as the kernel hands it out: network byte order ip and port.
struct addr {
	__u32 ip[4]; // IPv4 in ip[0]
	__u16 port;  // network byte order
	__u16 family;
};

struct lpm4 {
	__u32 prefixlen;
	__u32 ip;
};

struct lpm6 {
	__u32 prefixlen;
	__u32 ip[4];
};

// Key of the sk_msg sockhash: one end of an app<->proxy connection.
struct pair {
	__u32 local_ip[4];
	__u32 remote_ip[4];
	__u32 local_port;  // host byte order
	__u32 remote_port; // host byte order
	__u32 family;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct config);
} settings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

// Destination ports (host order) never redirected outbound.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u16);
	__type(value, __u8);
} excluded_out_ports SEC(".maps");

// Local ports (host order) never steered inbound.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u16);
	__type(value, __u8);
} excluded_in_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm4);
	__type(value, __u8);
} excluded_cidr4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm6);
	__type(value, __u8);
} excluded_cidr6 SEC(".maps");

// The pod's own addresses: inbound connections to them are steered to the proxy.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct lpm6); // prefixlen holds the family
	__type(value, __u8);
} pod_ips SEC(".maps");

// Original destination of a redirected socket, freed with the socket.
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct addr);
} sock_dst SEC(".maps");

// Original destination by the app socket's local address, which is the peer address
// the proxy sees on the accepted socket.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct addr);
	__type(value, struct addr);
} orig_dst SEC(".maps");

// The proxy's inbound (15006) listener, the sk_lookup target.
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} inbound_listener SEC(".maps");

// Both ends of app<->proxy connections, for the optional sk_msg short-circuit.
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536);
	__type(key, struct pair);
	__type(value, __u64);
} pairs SEC(".maps");

static __always_inline struct config *get_config(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&settings, &zero);
}

static __always_inline void count(enum stat s)
{
	__u32 key = s;
	__u64 *v = bpf_map_lookup_elem(&stats, &key);
	if (v)
		*v += 1;
}
