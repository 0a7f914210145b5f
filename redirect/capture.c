//go:build ignore

// Rampart's capture programs. Attached to one pod's cgroup (outbound, sockops,
// getsockopt, getpeername) and network namespace (sk_lookup); see doc.go.
#include "maps.h"

char __license[] SEC("license") = "Dual BSD/GPL";

#define LOOPBACK4 0x7f000001 // host order

static __always_inline int is_proxy(struct config *c)
{
	if (c->proxy_cgroup_id && bpf_get_current_cgroup_id() == c->proxy_cgroup_id)
		return 1;
	__u32 uid = (__u32)bpf_get_current_uid_gid();
	return c->proxy_uid != 0xffffffff && uid == c->proxy_uid;
}

static __always_inline int excluded4(__u32 ip, __u16 port)
{
	struct lpm4 k = { .prefixlen = 32, .ip = ip };
	return bpf_map_lookup_elem(&excluded_out_ports, &port) ||
	       bpf_map_lookup_elem(&excluded_cidr4, &k);
}

static __always_inline int is_v4mapped(__u32 *ip6)
{
	return ip6[0] == 0 && ip6[1] == 0 && ip6[2] == bpf_htonl(0xffff);
}

// remember stores the original destination in the socket's storage. Failing to store
// it refuses the connect: a redirect that lost its destination would be worse.
static __always_inline int remember(struct bpf_sock_addr *ctx, struct addr *dst)
{
	struct addr *o = bpf_sk_storage_get(&sock_dst, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!o)
		return 0;
	*o = *dst;
	count(STAT_REDIRECTED);
	return 1;
}

// Common outbound checks; returns 1 when the connect must be left alone.
static __always_inline int leave_alone(struct bpf_sock_addr *ctx, struct config **c)
{
	if (ctx->type != SOCK_STREAM) // UDP (DNS) and raw sockets are never touched
		return 1;
	*c = get_config();
	if (!*c)
		return 1;
	if (is_proxy(*c)) {
		count(STAT_SKIPPED_PROXY);
		return 1;
	}
	return 0;
}

SEC("cgroup/connect4")
int rampart_connect4(struct bpf_sock_addr *ctx)
{
	struct config *c;
	if (leave_alone(ctx, &c))
		return 1;
	__u32 ip = ctx->user_ip4;
	__u16 port = bpf_ntohs((__u16)ctx->user_port);
	if ((bpf_ntohl(ip) >> 24) == 127)
		return 1;
	if (excluded4(ip, port)) {
		count(STAT_SKIPPED_EXCLUDED);
		return 1;
	}
	struct addr dst = { .ip = { ip }, .port = bpf_htons(port), .family = AF_INET };
	if (!remember(ctx, &dst))
		return 0;
	ctx->user_ip4 = bpf_htonl(LOOPBACK4);
	ctx->user_port = bpf_htons(c->outbound_port);
	return 1;
}

static __always_inline int connect_mapped(struct bpf_sock_addr *ctx, struct config *c, __u16 port)
{
	__u32 ip = ctx->user_ip6[3];
	if ((bpf_ntohl(ip) >> 24) == 127)
		return 1;
	if (excluded4(ip, port)) {
		count(STAT_SKIPPED_EXCLUDED);
		return 1;
	}
	struct addr dst = { .ip = { ip }, .port = bpf_htons(port), .family = AF_INET };
	if (!remember(ctx, &dst))
		return 0;
	ctx->user_ip6[3] = bpf_htonl(LOOPBACK4);
	ctx->user_port = bpf_htons(c->outbound_port);
	return 1;
}

SEC("cgroup/connect6")
int rampart_connect6(struct bpf_sock_addr *ctx)
{
	struct config *c;
	if (leave_alone(ctx, &c))
		return 1;
	__u32 ip[4] = { ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3] };
	__u16 port = bpf_ntohs((__u16)ctx->user_port);
	if (is_v4mapped(ip))
		return connect_mapped(ctx, c, port);
	if (ip[0] == 0 && ip[1] == 0 && ip[2] == 0 && ip[3] == bpf_htonl(1))
		return 1;
	struct lpm6 k = { .prefixlen = 128, .ip = { ip[0], ip[1], ip[2], ip[3] } };
	if (bpf_map_lookup_elem(&excluded_out_ports, &port) ||
	    bpf_map_lookup_elem(&excluded_cidr6, &k)) {
		count(STAT_SKIPPED_EXCLUDED);
		return 1;
	}
	struct addr dst = { .ip = { ip[0], ip[1], ip[2], ip[3] }, .port = bpf_htons(port), .family = AF_INET6 };
	if (!remember(ctx, &dst))
		return 0;
	ctx->user_ip6[0] = 0;
	ctx->user_ip6[1] = 0;
	ctx->user_ip6[2] = 0;
	ctx->user_ip6[3] = bpf_htonl(1);
	ctx->user_port = bpf_htons(c->outbound_port);
	return 1;
}

SEC("cgroup/getpeername4")
int rampart_getpeername4(struct bpf_sock_addr *ctx)
{
	struct addr *o = bpf_sk_storage_get(&sock_dst, ctx->sk, 0, 0);
	if (o && o->family == AF_INET) {
		ctx->user_ip4 = o->ip[0];
		ctx->user_port = o->port;
	}
	return 1;
}

SEC("cgroup/getpeername6")
int rampart_getpeername6(struct bpf_sock_addr *ctx)
{
	struct addr *o = bpf_sk_storage_get(&sock_dst, ctx->sk, 0, 0);
	if (!o)
		return 1;
	if (o->family == AF_INET) { // a v4-mapped connect on a dual-stack socket
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = bpf_htonl(0xffff);
		ctx->user_ip6[3] = o->ip[0];
	} else {
		ctx->user_ip6[0] = o->ip[0];
		ctx->user_ip6[1] = o->ip[1];
		ctx->user_ip6[2] = o->ip[2];
		ctx->user_ip6[3] = o->ip[3];
	}
	ctx->user_port = o->port;
	return 1;
}

// getsockname on a redirected socket shows the pod IP, as under iptables REDIRECT,
// instead of the loopback address the connection really has.
SEC("cgroup/getsockname4")
int rampart_getsockname4(struct bpf_sock_addr *ctx)
{
	struct config *c = get_config();
	struct addr *o = bpf_sk_storage_get(&sock_dst, ctx->sk, 0, 0);
	if (c && o && o->family == AF_INET && c->pod_ip4)
		ctx->user_ip4 = c->pod_ip4;
	return 1;
}

SEC("cgroup/getsockname6")
int rampart_getsockname6(struct bpf_sock_addr *ctx)
{
	struct config *c = get_config();
	struct addr *o = bpf_sk_storage_get(&sock_dst, ctx->sk, 0, 0);
	if (!c || !o)
		return 1;
	if (o->family == AF_INET && c->pod_ip4) {
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = bpf_htonl(0xffff);
		ctx->user_ip6[3] = c->pod_ip4;
	} else if (o->family == AF_INET6 && (c->pod_ip6[0] || c->pod_ip6[1] || c->pod_ip6[2] || c->pod_ip6[3])) {
		ctx->user_ip6[0] = c->pod_ip6[0];
		ctx->user_ip6[1] = c->pod_ip6[1];
		ctx->user_ip6[2] = c->pod_ip6[2];
		ctx->user_ip6[3] = c->pod_ip6[3];
	}
	return 1;
}

// local_key builds the orig_dst key from the app socket's local address; v4-mapped
// addresses become IPv4 because the proxy's IPv4 listener sees them that way.
static __always_inline void local_key(struct bpf_sock_ops *s, struct addr *k)
{
	__u32 family = s->family;
	__u32 ip4 = s->local_ip4;
	__u32 a = s->local_ip6[0], b = s->local_ip6[1], c = s->local_ip6[2], d = s->local_ip6[3];
	k->port = bpf_htons((__u16)s->local_port);
	if (family == AF_INET6 && !(a == 0 && b == 0 && c == bpf_htonl(0xffff))) {
		k->family = AF_INET6;
		k->ip[0] = a;
		k->ip[1] = b;
		k->ip[2] = c;
		k->ip[3] = d;
		return;
	}
	k->family = AF_INET;
	k->ip[0] = family == AF_INET ? ip4 : d;
}

// record stores a redirected connection's original destination under the app
// socket's address. A connection made straight to the outbound port (loopback is not
// redirected) removes any record left under its address by an earlier connection,
// so that it cannot borrow that connection's destination.
static __always_inline void record(struct bpf_sock_ops *s, struct config *c)
{
	struct bpf_sock *sk = s->sk;
	if (!sk)
		return;
	struct addr k = {};
	local_key(s, &k);
	struct addr *o = bpf_sk_storage_get(&sock_dst, sk, 0, 0);
	if (o)
		bpf_map_update_elem(&orig_dst, &k, o, BPF_ANY);
	else if (bpf_ntohl(s->remote_port) == c->outbound_port)
		bpf_map_delete_elem(&orig_dst, &k);
}

// pair_add puts one end of an app<->proxy connection into the sk_msg sockhash.
static __always_inline void pair_add(struct bpf_sock_ops *s, struct config *c)
{
	if (!c->accelerate || s->family != AF_INET)
		return;
	if (s->local_port != c->outbound_port && bpf_ntohl(s->remote_port) != c->outbound_port)
		return;
	struct pair k = {
		.local_ip = { s->local_ip4 },
		.remote_ip = { s->remote_ip4 },
		.local_port = s->local_port,
		.remote_port = bpf_ntohl(s->remote_port),
		.family = AF_INET,
	};
	bpf_sock_hash_update(s, &pairs, &k, BPF_ANY);
}

SEC("sockops")
int rampart_sockops(struct bpf_sock_ops *s)
{
	struct config *c = get_config();
	if (!c)
		return 1;
	switch (s->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		record(s, c);
		pair_add(s, c);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		pair_add(s, c);
		break;
	}
	return 1;
}

// peer_key builds the orig_dst key from an accepted socket's peer address.
static __always_inline int peer_key(struct bpf_sock *sk, struct addr *k)
{
	k->port = sk->dst_port;
	if (sk->family == AF_INET) {
		k->family = AF_INET;
		k->ip[0] = sk->dst_ip4;
		return 1;
	}
	if (sk->family != AF_INET6)
		return 0;
	k->family = AF_INET6;
	k->ip[0] = sk->dst_ip6[0];
	k->ip[1] = sk->dst_ip6[1];
	k->ip[2] = sk->dst_ip6[2];
	k->ip[3] = sk->dst_ip6[3];
	return 1;
}

// set_answer_len stores optlen and retval separately: the verifier refuses the single
// 8-byte store clang would merge them into.
static __always_inline void set_answer_len(struct bpf_sockopt *ctx, int len)
{
	*(volatile __s32 *)&ctx->optlen = len;
	*(volatile __s32 *)&ctx->retval = 0;
}

// answer writes a sockaddr_in or sockaddr_in6 the way netfilter's SO_ORIGINAL_DST does.
static __always_inline void answer(struct bpf_sockopt *ctx, struct addr *o)
{
	__u8 *p = ctx->optval;
	if (o->family == AF_INET && ctx->level == SOL_IP) {
		if (p + 16 > (__u8 *)ctx->optval_end)
			return;
		__builtin_memset(p, 0, 16);
		*(__u16 *)p = AF_INET;
		*(__u16 *)(p + 2) = o->port;
		*(__u32 *)(p + 4) = o->ip[0];
		set_answer_len(ctx, 16);
		count(STAT_ORIGDST_ANSWERED);
		return;
	}
	if (o->family != AF_INET6 || ctx->level != SOL_IPV6)
		return;
	if (p + 28 > (__u8 *)ctx->optval_end)
		return;
	__builtin_memset(p, 0, 28);
	*(__u16 *)p = AF_INET6;
	*(__u16 *)(p + 2) = o->port;
	__builtin_memcpy(p + 8, o->ip, 16);
	set_answer_len(ctx, 28);
	count(STAT_ORIGDST_ANSWERED);
}

// Without an orig_dst entry the connection was not redirected outbound (inbound via
// sk_lookup, or the tunnel port): like netfilter, its original destination is its
// local address.
static __always_inline void local_addr(struct bpf_sock *sk, struct addr *a)
{
	a->family = sk->family;
	a->port = bpf_htons((__u16)sk->src_port);
	if (sk->family == AF_INET) {
		a->ip[0] = sk->src_ip4;
		return;
	}
	a->ip[0] = sk->src_ip6[0];
	a->ip[1] = sk->src_ip6[1];
	a->ip[2] = sk->src_ip6[2];
	a->ip[3] = sk->src_ip6[3];
}

SEC("cgroup/getsockopt")
int rampart_getsockopt(struct bpf_sockopt *ctx)
{
	if (ctx->optname != SO_ORIGINAL_DST || (ctx->level != SOL_IP && ctx->level != SOL_IPV6))
		return 1;
	struct config *c = get_config();
	struct bpf_sock *sk = ctx->sk;
	if (!c || !sk)
		return 1;
	struct addr k = {};
	if (!peer_key(sk, &k))
		return 1;
	struct addr *o = bpf_map_lookup_elem(&orig_dst, &k);
	if (o) {
		answer(ctx, o);
		return 1;
	}
	if (sk->src_port == c->outbound_port) { // redirected but unknown: say so
		count(STAT_ORIGDST_MISSED);
		return 1;
	}
	struct addr l = {};
	local_addr(sk, &l);
	answer(ctx, &l);
	return 1;
}

static __always_inline int pod_ip(__u32 family, __u32 ip4, __u32 *ip6)
{
	struct lpm6 k = { .prefixlen = family };
	if (family == AF_INET) {
		k.ip[0] = ip4;
	} else {
		k.ip[0] = ip6[0];
		k.ip[1] = ip6[1];
		k.ip[2] = ip6[2];
		k.ip[3] = ip6[3];
	}
	return bpf_map_lookup_elem(&pod_ips, &k) != 0;
}

// steer_inbound: TCP to a pod IP from outside the pod. A connection from the pod's
// own IP was not redirected outbound, so it comes from the proxy (forwarding to the
// app on the pod IP) or to an excluded port: steering it back would loop.
static __always_inline int steer_inbound(struct bpf_sk_lookup *ctx)
{
	__u32 family = ctx->family;
	__u32 local6[4] = { ctx->local_ip6[0], ctx->local_ip6[1], ctx->local_ip6[2], ctx->local_ip6[3] };
	__u32 remote6[4] = { ctx->remote_ip6[0], ctx->remote_ip6[1], ctx->remote_ip6[2], ctx->remote_ip6[3] };
	return pod_ip(family, ctx->local_ip4, local6) && !pod_ip(family, ctx->remote_ip4, remote6);
}

SEC("sk_lookup")
int rampart_sk_lookup(struct bpf_sk_lookup *ctx)
{
	if (ctx->protocol != IPPROTO_TCP)
		return SK_PASS;
	struct config *c = get_config();
	if (!c)
		return SK_PASS;
	__u16 port = ctx->local_port;
	if (port == c->tunnel_port || port == c->inbound_port)
		return SK_PASS;
	if (bpf_map_lookup_elem(&excluded_in_ports, &port) || !steer_inbound(ctx))
		return SK_PASS;
	__u32 zero = 0;
	struct bpf_sock *sk = bpf_map_lookup_elem(&inbound_listener, &zero);
	if (!sk) { // fail closed: no proxy listening means no plaintext reaches the app
		count(STAT_INBOUND_NO_LISTENER);
		return SK_DROP;
	}
	long err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	if (err)
		return SK_DROP;
	count(STAT_INBOUND_STEERED);
	return SK_PASS;
}

// rampart_sk_msg hands bytes from one end of an app<->proxy connection straight to
// the other end's receive queue, skipping the loopback TCP stack.
SEC("sk_msg")
int rampart_sk_msg(struct sk_msg_md *msg)
{
	if (msg->family != AF_INET)
		return SK_PASS;
	struct pair peer = {
		.local_ip = { msg->remote_ip4 },
		.remote_ip = { msg->local_ip4 },
		.local_port = bpf_ntohl(msg->remote_port),
		.remote_port = msg->local_port,
		.family = AF_INET,
	};
	bpf_msg_redirect_hash(msg, &pairs, &peer, BPF_F_INGRESS);
	return SK_PASS;
}
