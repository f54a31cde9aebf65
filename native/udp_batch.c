/*
 * Batched UDP I/O for the DNS transport: recvmmsg(2) and sendmmsg(2) on a socket of our own,
 * polled on Node's event loop.
 *
 * Why this exists: Node's dgram makes one JS call, one new Buffer, one address string (glibc
 * inet_ntop → sprintf) and one send request per datagram, and one recvmsg/sendmsg syscall
 * each. For a DNS server that answers from memory those per-datagram costs are most of the
 * CPU time (README, Performance). Here one JS call handles up to SLOTS queries that arrived
 * together, the queries land in one arena Buffer that JS reads in place, and the replies that
 * JS copies into a second arena leave in one sendmmsg. No npm package offers recvmmsg/
 * sendmmsg for Node, hence the hand-written addon; src/transport/udp-batch.ts loads it and
 * falls back to dgram when it is missing.
 *
 * The JS side (one per socket):
 *   open(host, port, reusePort) → handle; throws an Error with .code = errno name
 *   localPort(handle) → number
 *   start(handle, inArena, inMeta, outArena, outMeta, onBatch, onError)
 *       onBatch(count) → number of replies written to outArena/outMeta
 *       onError(code, message) for send errors (never for EAGAIN: those replies wait)
 *   sendTo(handle, buffer, host, port)  (a reply that was not ready within its batch)
 *   address(handle, slot) → string (IPv6 clients only; IPv4 is formatted in JS)
 *   close(handle)
 *
 * inMeta, per slot, Int32: [length (-1 = truncated), port, kind (4, 6 or 46 = IPv4-mapped
 * IPv6), IPv4 address as a big-endian uint32 (for kinds 4 and 46)]. outMeta, per reply:
 * [length, slot of the query it answers].
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define SLOTS 32
#define SLOT_SIZE 65536 /* the largest datagram; only touched pages become resident */
#define IN_META 4
#define OUT_META 2
/* Batches per readable event: bounded so that TCP and timers get their turn under a flood
   (libuv's own dgram reads at most 32 datagrams per event). */
#define BATCHES_PER_EVENT 4

typedef struct pending_s {
  struct pending_s *next;
  struct sockaddr_storage addr;
  socklen_t addrlen;
  size_t len;
  uint8_t data[];
} pending_t;

typedef struct {
  int fd;
  int closing;
  int in_callback;
  int torn_down; /* env_cleanup ran */
  int ipv6;
  /* Allocated apart from the socket: libuv may still hold it after the socket is freed. */
  uv_poll_t *poll;
  int poll_events;
  napi_env env;
  napi_ref self_ref; /* the external handle, kept alive while the socket is open */
  napi_ref refs[4];  /* the arenas and metas */
  napi_ref on_batch;
  napi_ref on_error;
  napi_async_context async_ctx;
  uint8_t *in;
  int32_t *in_meta;
  uint8_t *out;
  int32_t *out_meta;
  struct mmsghdr rmsgs[SLOTS];
  struct iovec riov[SLOTS];
  struct sockaddr_storage raddr[SLOTS];
  struct mmsghdr smsgs[SLOTS];
  struct iovec siov[SLOTS];
  pending_t *pending_head, *pending_tail;
  int pending_count;
} sock_t;

/* ---- errors ----------------------------------------------------------------------- */

/*
 * A JS callback called from the event loop (not from JS) that throws leaves the exception
 * pending in Node-API, where it would make every later call fail and never be seen. Hand it to
 * Node's uncaught-exception handling instead, as a throwing dgram 'message' listener would.
 */
static void surface_exception(napi_env env, napi_status status) {
  if (status != napi_pending_exception) return;
  /* Also returned, with nothing thrown, when the environment can no longer run JS (a worker
     being terminated): then there is nothing to report and no one to report it to. */
  napi_value exception;
  napi_valuetype type;
  if (napi_get_and_clear_last_exception(env, &exception) != napi_ok) return;
  if (napi_typeof(env, exception, &type) != napi_ok || type == napi_undefined) return;
  napi_fatal_exception(env, exception);
}

static napi_value throw_errno(napi_env env, int err, const char *what) {
  const char *name = strerrorname_np(err);
  napi_value code, msg, error;
  char text[256];
  snprintf(text, sizeof text, "%s: %s", what, strerror(err));
  napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_value syscall;
  napi_create_string_utf8(env, what, NAPI_AUTO_LENGTH, &syscall);
  napi_set_named_property(env, error, "syscall", syscall);
  napi_value errnum;
  napi_create_int32(env, -err, &errnum);
  napi_set_named_property(env, error, "errno", errnum);
  napi_throw(env, error);
  return NULL;
}

#define CHECK(call)                                                                          \
  do {                                                                                       \
    if ((call) != napi_ok) {                                                                 \
      napi_throw_error(env, NULL, "udp_batch: " #call " failed");                          \
      return NULL;                                                                           \
    }                                                                                        \
  } while (0)

static sock_t *get_sock(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, NULL, "udp_batch: not a socket handle");
    return NULL;
  }
  sock_t *s = p;
  if (s->fd < 0) {
    napi_throw_error(env, "ERR_SOCKET_DGRAM_NOT_RUNNING", "udp_batch: socket is closed");
    return NULL;
  }
  return s;
}

static int parse_addr(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    *len = sizeof *a4;
    return AF_INET;
  }
  if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    *len = sizeof *a6;
    return AF_INET6;
  }
  return -1;
}

/* ---- sending ---------------------------------------------------------------------- */

static void report_send_error(sock_t *s, int err) {
  napi_env env = s->env;
  if (s->on_error == NULL || s->torn_down) return;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb = NULL, global, argv[2], result;
  const char *name = strerrorname_np(err);
  napi_get_reference_value(env, s->on_error, &cb);
  napi_get_global(env, &global);
  napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &argv[0]);
  napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &argv[1]);
  /* close() from inside onError is deferred like from inside onBatch: callers check closing. */
  s->in_callback = 1;
  if (cb != NULL) surface_exception(env, napi_make_callback(env, s->async_ctx, global, cb, 2, argv, &result));
  s->in_callback = 0;
  napi_close_handle_scope(env, scope);
}

static void update_poll(sock_t *s);

/* Replies waiting for a full socket buffer to drain, at most this many (about what the
   kernel's default buffer holds); beyond that they are dropped like any datagram that
   finds no room, and reported. */
#define MAX_PENDING 4096

static int queue_pending(sock_t *s, const struct sockaddr_storage *addr, socklen_t addrlen, const uint8_t *data, size_t len) {
  if (s->pending_count >= MAX_PENDING) return 0;
  pending_t *p = malloc(sizeof *p + len);
  if (p == NULL) return 0;
  s->pending_count++;
  p->next = NULL;
  memcpy(&p->addr, addr, addrlen);
  p->addrlen = addrlen;
  p->len = len;
  memcpy(p->data, data, len);
  if (s->pending_tail) s->pending_tail->next = p;
  else s->pending_head = p;
  s->pending_tail = p;
  return 1;
}

static int would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS; }

/* Sends what waits in the pending queue; returns 0 when it is empty afterwards. */
static int flush_pending(sock_t *s) {
  while (s->pending_head) {
    pending_t *p = s->pending_head;
    ssize_t n = sendto(s->fd, p->data, p->len, MSG_DONTWAIT, (struct sockaddr *)&p->addr, p->addrlen);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && would_block(errno)) return 1;
    int err = n < 0 ? errno : 0;
    s->pending_head = p->next;
    if (!s->pending_head) s->pending_tail = NULL;
    s->pending_count--;
    free(p);
    if (err) {
      report_send_error(s, err);
      if (s->closing) return 0;
    }
  }
  return 0;
}

/* Sends count replies from the out arena, each to the source of the query in its slot. */
static void send_replies(sock_t *s, int count) {
  for (int i = 0; i < count; i++) {
    int32_t len = s->out_meta[i * OUT_META];
    int32_t slot = s->out_meta[i * OUT_META + 1];
    if (len < 0 || len > SLOT_SIZE || slot < 0 || slot >= SLOTS) len = 0, slot = 0;
    s->siov[i].iov_base = s->out + (size_t)i * SLOT_SIZE;
    s->siov[i].iov_len = (size_t)len;
    memset(&s->smsgs[i].msg_hdr, 0, sizeof s->smsgs[i].msg_hdr);
    s->smsgs[i].msg_hdr.msg_iov = &s->siov[i];
    s->smsgs[i].msg_hdr.msg_iovlen = 1;
    s->smsgs[i].msg_hdr.msg_name = &s->raddr[slot];
    s->smsgs[i].msg_hdr.msg_namelen = s->rmsgs[slot].msg_hdr.msg_namelen;
  }
  /* Replies keep their order behind ones already waiting for the socket to drain. */
  int start = 0;
  if (s->pending_head) goto queue_rest;
  while (start < count) {
    int n = sendmmsg(s->fd, s->smsgs + start, (unsigned)(count - start), MSG_DONTWAIT);
    if (n > 0) {
      start += n;
      continue;
    }
    int err = errno;
    if (n < 0 && err == EINTR) continue;
    if (n < 0 && would_block(err)) break;
    /* The message at `start` failed on its own (EMSGSIZE, EACCES, ...): skip it. */
    report_send_error(s, n < 0 ? err : EIO);
    if (s->closing) return; /* on_readable closes the socket */
    start++;
  }
queue_rest:;
  int dropped = 0;
  for (int i = start; i < count; i++) {
    if (!queue_pending(s, (struct sockaddr_storage *)s->smsgs[i].msg_hdr.msg_name, s->smsgs[i].msg_hdr.msg_namelen,
                       s->siov[i].iov_base, s->siov[i].iov_len))
      dropped++;
  }
  if (start < count) update_poll(s);
  if (dropped) report_send_error(s, ENOBUFS);
}

/* ---- receiving -------------------------------------------------------------------- */

static void close_now(sock_t *s);

static void on_readable(sock_t *s) {
  napi_env env = s->env;
  for (int batch = 0; batch < BATCHES_PER_EVENT && s->fd >= 0 && !s->closing; batch++) {
    for (int i = 0; i < SLOTS; i++) {
      s->riov[i].iov_base = s->in + (size_t)i * SLOT_SIZE;
      s->riov[i].iov_len = SLOT_SIZE;
      memset(&s->rmsgs[i].msg_hdr, 0, sizeof s->rmsgs[i].msg_hdr);
      s->rmsgs[i].msg_hdr.msg_iov = &s->riov[i];
      s->rmsgs[i].msg_hdr.msg_iovlen = 1;
      s->rmsgs[i].msg_hdr.msg_name = &s->raddr[i];
      s->rmsgs[i].msg_hdr.msg_namelen = sizeof s->raddr[i];
    }
    int n = recvmmsg(s->fd, s->rmsgs, SLOTS, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      /* EAGAIN: drained. Anything else (ICMP errors are not reported without IP_RECVERR)
         is as transient as it is for dgram, which also keeps reading. */
      return;
    }
    if (n == 0) return;
    for (int i = 0; i < n; i++) {
      int32_t *m = s->in_meta + i * IN_META;
      struct msghdr *h = &s->rmsgs[i].msg_hdr;
      m[0] = (h->msg_flags & MSG_TRUNC) ? -1 : (int32_t)s->rmsgs[i].msg_len;
      if (s->raddr[i].ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&s->raddr[i];
        m[1] = ntohs(a->sin_port);
        m[2] = 4;
        m[3] = (int32_t)ntohl(a->sin_addr.s_addr);
      } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&s->raddr[i];
        m[1] = ntohs(a->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
          uint32_t v4;
          memcpy(&v4, a->sin6_addr.s6_addr + 12, 4);
          m[2] = 46;
          m[3] = (int32_t)ntohl(v4);
        } else {
          m[2] = 6;
          m[3] = 0;
        }
      }
    }
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value cb = NULL, global, argv[1], result = NULL;
    if (napi_get_reference_value(env, s->on_batch, &cb) != napi_ok || cb == NULL) {
      napi_close_handle_scope(env, scope);
      return;
    }
    napi_get_global(env, &global);
    napi_create_int32(env, n, &argv[0]);
    int replies = 0;
    s->in_callback = 1;
    napi_status st = napi_make_callback(env, s->async_ctx, global, cb, 1, argv, &result);
    s->in_callback = 0;
    if (st == napi_ok) {
      int32_t r = 0;
      if (napi_get_value_int32(env, result, &r) == napi_ok && r > 0) replies = r > SLOTS ? SLOTS : r;
    } else {
      surface_exception(env, st);
    }
    napi_close_handle_scope(env, scope);
    if (s->closing) {
      close_now(s);
      return;
    }
    if (replies > 0) send_replies(s, replies);
    if (s->closing) {
      close_now(s);
      return;
    }
    if (n < SLOTS) return; /* drained: the next datagram wakes us again */
  }
}

static void poll_cb(uv_poll_t *handle, int status, int events) {
  sock_t *s = handle->data;
  if (s == NULL || s->fd < 0) return;
  if (status < 0) return; /* EBADF after close, or a transient poll error: nothing to read */
  if ((events & UV_WRITABLE) && !flush_pending(s)) update_poll(s);
  if (s->closing) {
    close_now(s);
    return;
  }
  if (events & UV_READABLE) on_readable(s);
}

static void update_poll(sock_t *s) {
  /* poll_events < 0: start() has not initialised the poll handle yet. */
  if (s->fd < 0 || s->closing || s->poll_events < 0) return;
  int want = UV_READABLE | (s->pending_head ? UV_WRITABLE : 0);
  if (want != s->poll_events) {
    s->poll_events = want;
    uv_poll_start(s->poll, want, poll_cb);
  }
}

/* ---- closing ---------------------------------------------------------------------- */

static void free_pending(sock_t *s) {
  while (s->pending_head) {
    pending_t *p = s->pending_head;
    s->pending_head = p->next;
    free(p);
  }
  s->pending_tail = NULL;
  s->pending_count = 0;
}

/* Stops polling and hands the poll handle to libuv to free; the socket no longer owns it. */
static void release_poll(sock_t *s) {
  if (s->poll == NULL) return;
  uv_poll_stop(s->poll);
  s->poll->data = NULL;
  /* libc's free, not a function of ours: when a worker thread ends, Node unloads this addon
     before its loop runs the close callbacks. */
  uv_close((uv_handle_t *)s->poll, (uv_close_cb)(void (*)(void))free);
  s->poll = NULL;
  s->poll_events = -1;
}

static void release_refs(sock_t *s) {
  napi_env env = s->env;
  for (int i = 0; i < 4; i++)
    if (s->refs[i]) napi_delete_reference(env, s->refs[i]), s->refs[i] = NULL;
  if (s->on_batch) napi_delete_reference(env, s->on_batch), s->on_batch = NULL;
  if (s->on_error) napi_delete_reference(env, s->on_error), s->on_error = NULL;
  if (s->async_ctx) napi_async_destroy(env, s->async_ctx), s->async_ctx = NULL;
}

static void close_now(sock_t *s) {
  if (s->fd < 0) return;
  release_poll(s);
  close(s->fd);
  s->fd = -1;
  s->closing = 1;
  free_pending(s);
  release_refs(s);
  /* The handle may now be collected, and the socket freed with it. */
  if (s->self_ref) napi_delete_reference(s->env, s->self_ref), s->self_ref = NULL;
}

/* The environment is going away (a worker thread terminated, or the process exiting) with the
   socket still open: stop polling at once, so that no readable event calls into JS any more. */
static void env_cleanup(void *data) {
  sock_t *s = data;
  s->torn_down = 1;
  if (s->fd < 0) return;
  release_poll(s);
  close(s->fd);
  s->fd = -1;
  free_pending(s);
}

static void finalize_sock(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  sock_t *s = data;
  /* Normally the socket was closed first (self_ref keeps an open one alive). Still open here
     means Node-API is tearing the environment down: let go of the fd and the poll handle
     without calling back into Node-API. */
  if (s->fd >= 0) {
    release_poll(s);
    close(s->fd);
    free_pending(s);
  }
  if (!s->torn_down) napi_remove_env_cleanup_hook(env, env_cleanup, s);
  free(s);
}

/* ---- exported functions ----------------------------------------------------------- */

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char host[64];
  size_t hostlen;
  int32_t port;
  bool reuse;
  CHECK(napi_get_value_string_utf8(env, argv[0], host, sizeof host, &hostlen));
  CHECK(napi_get_value_int32(env, argv[1], &port));
  CHECK(napi_get_value_bool(env, argv[2], &reuse));
  struct sockaddr_storage ss;
  socklen_t sslen;
  int family = parse_addr(host, port, &ss, &sslen);
  if (family < 0 || port < 0 || port > 65535) return throw_errno(env, EINVAL, "bind");
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket");
  int one = 1, zero = 0;
  /* Like dgram's udp6: '::' is dual-stack (IPv4 clients appear as ::ffff:a.b.c.d). */
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  if (reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "setsockopt");
  }
  if (bind(fd, (struct sockaddr *)&ss, sslen) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "bind");
  }
  sock_t *s = calloc(1, sizeof *s);
  if (s == NULL) {
    close(fd);
    return throw_errno(env, ENOMEM, "socket");
  }
  s->fd = fd;
  s->ipv6 = family == AF_INET6;
  s->env = env;
  s->poll_events = -1;
  napi_value ext;
  if (napi_create_external(env, s, finalize_sock, NULL, &ext) != napi_ok) {
    close(fd);
    free(s);
    napi_throw_error(env, NULL, "udp_batch: cannot create handle");
    return NULL;
  }
  napi_create_reference(env, ext, 1, &s->self_ref);
  napi_add_env_cleanup_hook(env, env_cleanup, s);
  return ext;
}

static napi_value js_local_port(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sock_t *s = get_sock(env, argv[0]);
  if (!s) return NULL;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(s->fd, (struct sockaddr *)&ss, &len) < 0) return throw_errno(env, errno, "getsockname");
  int port = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port) : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  CHECK(napi_create_int32(env, port, &out));
  return out;
}

static int buffer_of(napi_env env, napi_value v, void **data, size_t *len) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, len, data, &ab, &offset) != napi_ok) return 0;
  if (type == napi_int32_array) *len *= 4;
  return 1;
}

static napi_value js_start(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sock_t *s = get_sock(env, argv[0]);
  if (!s) return NULL;
  if (s->poll != NULL || s->on_batch) {
    napi_throw_error(env, NULL, "udp_batch: already started");
    return NULL;
  }
  void *p[4];
  size_t len[4];
  size_t need[4] = {(size_t)SLOTS * SLOT_SIZE, (size_t)SLOTS * IN_META * 4, (size_t)SLOTS * SLOT_SIZE, (size_t)SLOTS * OUT_META * 4};
  for (int i = 0; i < 4; i++) {
    if (!buffer_of(env, argv[1 + i], &p[i], &len[i]) || len[i] < need[i]) {
      napi_throw_range_error(env, NULL, "udp_batch: arena or meta array too small");
      return NULL;
    }
  }
  for (int i = 0; i < 4; i++) CHECK(napi_create_reference(env, argv[1 + i], 1, &s->refs[i]));
  s->in = p[0];
  s->in_meta = p[1];
  s->out = p[2];
  s->out_meta = p[3];
  CHECK(napi_create_reference(env, argv[5], 1, &s->on_batch));
  CHECK(napi_create_reference(env, argv[6], 1, &s->on_error));
  napi_value name;
  CHECK(napi_create_string_utf8(env, "etcdns:udp-batch", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &s->async_ctx));
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  uv_poll_t *poll = malloc(sizeof *poll);
  if (poll == NULL || uv_poll_init(loop, poll, s->fd) != 0) {
    free(poll);
    napi_throw_error(env, NULL, "udp_batch: uv_poll_init failed");
    return NULL;
  }
  poll->data = s;
  s->poll = poll;
  s->poll_events = 0;
  update_poll(s);
  return NULL;
}

static napi_value js_send_to(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sock_t *s = get_sock(env, argv[0]);
  if (!s) return NULL;
  void *data;
  size_t len;
  if (!buffer_of(env, argv[1], &data, &len)) {
    napi_throw_type_error(env, NULL, "udp_batch: sendTo needs a Buffer");
    return NULL;
  }
  char host[64];
  size_t hostlen;
  int32_t port;
  CHECK(napi_get_value_string_utf8(env, argv[2], host, sizeof host, &hostlen));
  CHECK(napi_get_value_int32(env, argv[3], &port));
  struct sockaddr_storage ss;
  socklen_t sslen;
  int family = parse_addr(host, port, &ss, &sslen);
  if (family < 0) return throw_errno(env, EINVAL, "sendto");
  if (s->ipv6 && family == AF_INET) {
    /* A dual-stack socket sends to IPv4 clients at their mapped address. */
    struct sockaddr_in a4 = *(struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    memset(&ss, 0, sizeof ss);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = a4.sin_port;
    a6->sin6_addr.s6_addr[10] = 0xff;
    a6->sin6_addr.s6_addr[11] = 0xff;
    memcpy(a6->sin6_addr.s6_addr + 12, &a4.sin_addr, 4);
    sslen = sizeof *a6;
  }
  if (!s->pending_head) {
    for (;;) {
      ssize_t n = sendto(s->fd, data, len, MSG_DONTWAIT, (struct sockaddr *)&ss, sslen);
      if (n >= 0) return NULL;
      if (errno == EINTR) continue;
      if (!would_block(errno)) return throw_errno(env, errno, "sendto");
      break;
    }
  }
  if (!queue_pending(s, &ss, sslen, data, len)) return throw_errno(env, ENOBUFS, "sendto");
  update_poll(s);
  return NULL;
}

static napi_value js_address(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sock_t *s = get_sock(env, argv[0]);
  if (!s) return NULL;
  int32_t slot;
  CHECK(napi_get_value_int32(env, argv[1], &slot));
  if (slot < 0 || slot >= SLOTS) return throw_errno(env, EINVAL, "address");
  char text[INET6_ADDRSTRLEN] = "";
  if (s->raddr[slot].ss_family == AF_INET6)
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&s->raddr[slot])->sin6_addr, text, sizeof text);
  else
    inet_ntop(AF_INET, &((struct sockaddr_in *)&s->raddr[slot])->sin_addr, text, sizeof text);
  CHECK(napi_create_string_latin1(env, text, NAPI_AUTO_LENGTH, &out));
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *p = NULL;
  if (napi_get_value_external(env, argv[0], &p) != napi_ok || p == NULL) return NULL;
  sock_t *s = p;
  if (s->fd < 0) return NULL;
  /* Inside onBatch the native loop still walks this batch: close when it returns. */
  if (s->in_callback) s->closing = 1;
  else close_now(s);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"localPort", NULL, js_local_port, NULL, NULL, NULL, napi_default, NULL},
      {"start", NULL, js_start, NULL, NULL, NULL, napi_default, NULL},
      {"sendTo", NULL, js_send_to, NULL, NULL, NULL, napi_default, NULL},
      {"address", NULL, js_address, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value slots, slot_size, in_meta, out_meta;
  napi_create_int32(env, SLOTS, &slots);
  napi_create_int32(env, SLOT_SIZE, &slot_size);
  napi_create_int32(env, IN_META, &in_meta);
  napi_create_int32(env, OUT_META, &out_meta);
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_set_named_property(env, exports, "SLOTS", slots);
  napi_set_named_property(env, exports, "SLOT_SIZE", slot_size);
  napi_set_named_property(env, exports, "IN_META", in_meta);
  napi_set_named_property(env, exports, "OUT_META", out_meta);
  return exports;
}

NAPI_MODULE(udp_batch, init)
