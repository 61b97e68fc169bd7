// sluice_io: the native I/O module. System calls in batches, no logic: UDP sockets with
// recvmmsg/sendmmsg, tap devices with readv/writev, AF_PACKET sockets, a blocking poll and an
// eventfd to wake it. Frames move straight between the kernel and pool slots in the pool's
// SharedArrayBuffer; the JS side (io.ts) owns every decision and every counter.
//
// N-API only (node_api.h): it builds against the installed Node headers and loads in worker
// threads. Calls do not allocate: a pool is bound once (bindPool) and the binding holds strong
// references to the pool's typed arrays, so the memory it writes cannot be collected while the
// binding lives. Failures come back as negative errno values, never as exceptions (a wrong
// argument type throws a TypeError).

#include "io.h"

napi_value num(napi_env env, int64_t v) {
  napi_value r;
  if (v >= INT32_MIN && v <= INT32_MAX) napi_create_int32(env, (int32_t)v, &r); else napi_create_int64(env, v, &r);
  return r;
}

int arg_i32(napi_env env, napi_value v, int32_t *out) { return napi_get_value_int32(env, v, out) == napi_ok; }

// A typed array's bytes, its element count, optionally its type.
void *typed(napi_env env, napi_value v, size_t *count, napi_typedarray_type *type) {
  napi_typedarray_type t; size_t n; void *p; napi_value ab; size_t off;
  if (napi_get_typedarray_info(env, v, &t, &n, &p, &ab, &off) != napi_ok) return NULL;
  if (count) *count = n;
  if (type) *type = t;
  return p;
}

static void pool_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  pool_t *p = data;
  for (int i = 0; i < 4; i++) if (p->refs[i]) napi_delete_reference(env, p->refs[i]);
  free(p);
}

// bindPool(data: Uint8Array, off: Uint16Array, len: Uint32Array, vnet: Uint8Array | null, slotSize, headroom) -> binding
static napi_value bind_pool(napi_env env, napi_callback_info info) {
  size_t argc = 6; napi_value a[6];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc < 6) { napi_throw_type_error(env, NULL, "bindPool takes 6 arguments"); return NULL; }
  size_t nd = 0, no = 0, nl = 0, nv = 0; napi_typedarray_type td = napi_int8_array, to = td, tl = td, tv = td;
  void *d = typed(env, a[0], &nd, &td), *o = typed(env, a[1], &no, &to), *l = typed(env, a[2], &nl, &tl), *v = NULL;
  napi_valuetype vt; napi_typeof(env, a[3], &vt);
  if (vt != napi_null && vt != napi_undefined) v = typed(env, a[3], &nv, &tv);
  int32_t slot_size, headroom;
  if (!d || !o || !l || td != napi_uint8_array || to != napi_uint16_array || tl != napi_uint32_array ||
      (vt != napi_null && vt != napi_undefined && (!v || tv != napi_uint8_array)) ||
      !arg_i32(env, a[4], &slot_size) || !arg_i32(env, a[5], &headroom) || slot_size <= headroom || headroom < 0 ||
      nd != (size_t)slot_size * no || nl != no || (v && nv != VNET_HDR * no)) {
    napi_throw_type_error(env, NULL, "bindPool(data: Uint8Array, off: Uint16Array, len: Uint32Array, vnet: Uint8Array|null, slotSize, headroom): sizes disagree");
    return NULL;
  }
  pool_t *p = calloc(1, sizeof *p);
  if (!p) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  p->data = d; p->off = o; p->len = l; p->vnet = v;
  p->slots = (uint32_t)no; p->slot_size = (uint32_t)slot_size; p->headroom = (uint32_t)headroom;
  for (int i = 0; i < 4; i++) if (i < 3 || v) napi_create_reference(env, a[i], 1, &p->refs[i]);
  napi_value ext;
  if (napi_create_external(env, p, pool_finalize, NULL, &ext) != napi_ok) { pool_finalize(env, p, NULL); return NULL; }
  return ext;
}

pool_t *get_pool(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) napi_throw_type_error(env, NULL, "not a pool binding");
  return p;
}

// The handles of one call: handles[from .. from+n), each checked against the pool.
int32_t *get_handles(napi_env env, napi_value v, pool_t *p, int32_t from, int32_t *n) {
  size_t count; napi_typedarray_type t;
  int32_t *h = typed(env, v, &count, &t);
  if (!h || t != napi_int32_array || from < 0 || *n < 0 || (size_t)from + (size_t)*n > count) {
    napi_throw_type_error(env, NULL, "handles: Int32Array with from + n inside it");
    return NULL;
  }
  if (*n > BURST) *n = BURST;
  h += from;
  for (int32_t i = 0; i < *n; i++) {
    if (h[i] < 0 || (uint32_t)h[i] >= p->slots) { napi_throw_range_error(env, NULL, "handle outside the pool"); return NULL; }
  }
  return h;
}

void put_addr(uint8_t *rec, const struct sockaddr_storage *ss) {
  memset(rec, 0, ADDR_REC);
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *s = (const void *)ss;
    rec[0] = 4; memcpy(rec + 2, &s->sin_port, 2); memcpy(rec + 4, &s->sin_addr, 4);
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s = (const void *)ss;
    rec[0] = 6; memcpy(rec + 2, &s->sin6_port, 2); memcpy(rec + 4, &s->sin6_addr, 16); memcpy(rec + 20, &s->sin6_scope_id, 4);
  }
}

socklen_t get_addr(const uint8_t *rec, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  if (rec[0] == 4) {
    struct sockaddr_in *s = (void *)ss;
    s->sin_family = AF_INET; memcpy(&s->sin_port, rec + 2, 2); memcpy(&s->sin_addr, rec + 4, 4);
    return sizeof *s;
  }
  if (rec[0] == 6) {
    struct sockaddr_in6 *s = (void *)ss;
    s->sin6_family = AF_INET6; memcpy(&s->sin6_port, rec + 2, 2); memcpy(&s->sin6_addr, rec + 4, 16); memcpy(&s->sin6_scope_id, rec + 20, 4);
    return sizeof *s;
  }
  return 0;
}

// Optional per-message address records: null, or a Uint8Array of at least n * ADDR_REC bytes.
uint8_t *get_addrs(napi_env env, napi_value v, int32_t n, int *bad) {
  napi_valuetype vt; napi_typeof(env, v, &vt);
  *bad = 0;
  if (vt == napi_null || vt == napi_undefined) return NULL;
  size_t count; napi_typedarray_type t;
  uint8_t *a = typed(env, v, &count, &t);
  if (!a || t != napi_uint8_array || count < (size_t)n * ADDR_REC) { *bad = 1; napi_throw_type_error(env, NULL, "addrs: Uint8Array of n * 24 bytes, or null"); }
  return a;
}

// The optional vnet header length argument: 0, 10 (AF_PACKET) or 12 (tap), with a vnet pool.
int get_vh(napi_env env, napi_value v, pool_t *p, int32_t *vh) {
  if (!arg_i32(env, v, vh) || (*vh != 0 && *vh != 10 && *vh != VNET_HDR) || (*vh && !p->vnet)) return 0;
  return 1;
}

int set_buf(int fd, int force, int plain, int bytes) {
  if (setsockopt(fd, SOL_SOCKET, force, &bytes, sizeof bytes) == 0) return 0;
  return setsockopt(fd, SOL_SOCKET, plain, &bytes, sizeof bytes);
}

int parse_ip(const char *s, int port, struct sockaddr_storage *ss, socklen_t *sl) {
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *a4 = (void *)ss; struct sockaddr_in6 *a6 = (void *)ss;
  if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) { a4->sin_family = AF_INET; a4->sin_port = htons((uint16_t)port); *sl = sizeof *a4; return AF_INET; }
  if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) { a6->sin6_family = AF_INET6; a6->sin6_port = htons((uint16_t)port); *sl = sizeof *a6; return AF_INET6; }
  return -1;
}

int get_string(napi_env env, napi_value v, char *buf, size_t size) {
  size_t n;
  napi_valuetype vt; napi_typeof(env, v, &vt);
  if (vt != napi_string) return 0;
  return napi_get_value_string_utf8(env, v, buf, size, &n) == napi_ok && n < size - 1;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    { "bindPool", 0, bind_pool, 0, 0, 0, napi_enumerable, 0 },
    { "recvBatch", 0, recv_batch, 0, 0, 0, napi_enumerable, 0 },
    { "sendBatch", 0, send_batch, 0, 0, 0, napi_enumerable, 0 },
    { "sendEncap", 0, send_encap, 0, 0, 0, napi_enumerable, 0 },
    { "readBatch", 0, read_batch, 0, 0, 0, napi_enumerable, 0 },
    { "writeBatch", 0, write_batch, 0, 0, 0, napi_enumerable, 0 },
    { "udpOpen", 0, udp_open, 0, 0, 0, napi_enumerable, 0 },
    { "rawOpen", 0, raw_open, 0, 0, 0, napi_enumerable, 0 },
    { "sockInfo", 0, sock_info, 0, 0, 0, napi_enumerable, 0 },
    { "tapOpen", 0, tap_open, 0, 0, 0, napi_enumerable, 0 },
    { "tapControl", 0, tap_control, 0, 0, 0, napi_enumerable, 0 },
    { "linkInfo", 0, link_info, 0, 0, 0, napi_enumerable, 0 },
    { "packetOpen", 0, packet_open, 0, 0, 0, napi_enumerable, 0 },
    { "packetBind", 0, packet_bind, 0, 0, 0, napi_enumerable, 0 },
    { "pollIn", 0, poll_in, 0, 0, 0, napi_enumerable, 0 },
    { "timerSlack", 0, timer_slack, 0, 0, 0, napi_enumerable, 0 },
    { "eventfdOpen", 0, eventfd_open, 0, 0, 0, napi_enumerable, 0 },
    { "eventfdSignal", 0, eventfd_signal, 0, 0, 0, napi_enumerable, 0 },
    { "eventfdDrain", 0, eventfd_drain, 0, 0, 0, napi_enumerable, 0 },
    { "closeFd", 0, close_fd, 0, 0, 0, napi_enumerable, 0 },
    { "strerror", 0, str_error, 0, 0, 0, napi_enumerable, 0 },
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
