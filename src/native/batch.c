// The burst calls: recvmmsg/sendmmsg (UDP and AF_PACKET sockets) and readv/writev (taps),
// straight between the kernel and pool slots, each frame after its optional virtio-net header.

#include "io.h"

// recvBatch(pool, fd, handles, from, n, addrs | null, vnetHdrLen) -> datagrams received (0: none
// waiting) or -errno. Message i lands in slot handles[from+i] at the headroom (after a
// vnetHdrLen-byte header read into the slot's vnet metadata); len is the real length
// (MSG_TRUNC: larger than the slot means it was cut, for the caller to drop and count).
napi_value recv_batch(napi_env env, napi_callback_info info) {
  size_t argc = 7; napi_value a[7];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  pool_t *p = get_pool(env, a[0]); if (!p) return NULL;
  int32_t fd, from, n, vh; int bad;
  if (argc < 7 || !arg_i32(env, a[1], &fd) || !arg_i32(env, a[3], &from) || !arg_i32(env, a[4], &n) || !get_vh(env, a[6], p, &vh)) {
    napi_throw_type_error(env, NULL, "recvBatch(pool, fd, handles, from, n, addrs, vnetHdrLen 0|10|12)"); return NULL;
  }
  int32_t *h = get_handles(env, a[2], p, from, &n); if (!h) return NULL;
  uint8_t *addrs = get_addrs(env, a[5], n, &bad); if (bad) return NULL;
  struct mmsghdr m[BURST]; struct iovec iov[2 * BURST]; struct sockaddr_storage ss[BURST];
  uint32_t cap = p->slot_size - p->headroom;
  for (int32_t i = 0; i < n; i++) {
    struct iovec *v = &iov[2 * i]; int k = 0;
    if (vh) { v[k].iov_base = p->vnet + (size_t)h[i] * VNET_HDR; v[k++].iov_len = (size_t)vh; }
    v[k].iov_base = p->data + (size_t)h[i] * p->slot_size + p->headroom; v[k++].iov_len = cap;
    memset(&m[i].msg_hdr, 0, sizeof m[i].msg_hdr);
    m[i].msg_hdr.msg_iov = v; m[i].msg_hdr.msg_iovlen = (size_t)k;
    if (addrs) { m[i].msg_hdr.msg_name = &ss[i]; m[i].msg_hdr.msg_namelen = sizeof ss[i]; }
  }
  int r = recvmmsg(fd, m, (unsigned)n, MSG_DONTWAIT | MSG_TRUNC, NULL);
  if (r < 0) return num(env, errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno);
  for (int i = 0; i < r; i++) {
    uint32_t got = m[i].msg_len < (uint32_t)vh ? 0 : m[i].msg_len - (uint32_t)vh;
    p->off[h[i]] = (uint16_t)p->headroom;
    p->len[h[i]] = (m[i].msg_hdr.msg_flags & MSG_TRUNC) && got <= cap ? cap + 1 : got;
    if (addrs) put_addr(addrs + (size_t)i * ADDR_REC, &ss[i]);
  }
  return num(env, r);
}

// sendBatch(pool, fd, handles, from, n, addrs | null, vnetHdrLen) -> datagrams sent (the first
// ones), or -errno when the first could not be sent.
napi_value send_batch(napi_env env, napi_callback_info info) {
  size_t argc = 7; napi_value a[7];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  pool_t *p = get_pool(env, a[0]); if (!p) return NULL;
  int32_t fd, from, n, vh; int bad;
  if (argc < 7 || !arg_i32(env, a[1], &fd) || !arg_i32(env, a[3], &from) || !arg_i32(env, a[4], &n) || !get_vh(env, a[6], p, &vh)) {
    napi_throw_type_error(env, NULL, "sendBatch(pool, fd, handles, from, n, addrs, vnetHdrLen 0|10|12)"); return NULL;
  }
  int32_t *h = get_handles(env, a[2], p, from, &n); if (!h) return NULL;
  uint8_t *addrs = get_addrs(env, a[5], n, &bad); if (bad) return NULL;
  struct mmsghdr m[BURST]; struct iovec iov[2 * BURST]; struct sockaddr_storage ss[BURST];
  for (int32_t i = 0; i < n; i++) {
    uint32_t off = p->off[h[i]], len = p->len[h[i]];
    if (off + len > p->slot_size) { napi_throw_range_error(env, NULL, "frame outside its slot"); return NULL; }
    struct iovec *v = &iov[2 * i]; int k = 0;
    if (vh) { v[k].iov_base = p->vnet + (size_t)h[i] * VNET_HDR; v[k++].iov_len = (size_t)vh; }
    v[k].iov_base = p->data + (size_t)h[i] * p->slot_size + off; v[k++].iov_len = len;
    memset(&m[i].msg_hdr, 0, sizeof m[i].msg_hdr);
    m[i].msg_hdr.msg_iov = v; m[i].msg_hdr.msg_iovlen = (size_t)k;
    if (addrs) { m[i].msg_hdr.msg_name = &ss[i]; m[i].msg_hdr.msg_namelen = get_addr(addrs + (size_t)i * ADDR_REC, &ss[i]); }
  }
  int r = sendmmsg(fd, m, (unsigned)n, 0);
  return num(env, r < 0 ? -errno : r);
}

// sendEncap(pool, fd, handles, from, n, addrs, heads, stride, headLens, skips) -> datagrams sent
// (the first ones), or -errno when the first could not be sent. Message i is the header
// heads[i*stride .. +headLens[i]] (outer headers the caller wrote: e.g. IPv4/UDP/VXLAN) followed
// by frame handles[from+i] without its first skips[i] bytes: encapsulation gathered by the
// kernel, the slot untouched (other ports may be sending it too).
napi_value send_encap(napi_env env, napi_callback_info info) {
  size_t argc = 10; napi_value a[10];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  pool_t *p = get_pool(env, a[0]); if (!p) return NULL;
  int32_t fd, from, n, stride; int bad;
  size_t nh = 0, nl = 0, ns = 0; napi_typedarray_type th = napi_int8_array, tl = napi_int8_array, ts = napi_int8_array;
  if (argc < 10 || !arg_i32(env, a[1], &fd) || !arg_i32(env, a[3], &from) || !arg_i32(env, a[4], &n) || !arg_i32(env, a[7], &stride) || stride < 1 || stride > 256) {
    napi_throw_type_error(env, NULL, "sendEncap(pool, fd, handles, from, n, addrs, heads, stride 1..256, headLens, skips)"); return NULL;
  }
  int32_t *h = get_handles(env, a[2], p, from, &n); if (!h) return NULL;
  uint8_t *addrs = get_addrs(env, a[5], n, &bad); if (bad) return NULL;
  uint8_t *heads = typed(env, a[6], &nh, &th), *hl = typed(env, a[8], &nl, &tl), *sk = typed(env, a[9], &ns, &ts);
  if (!heads || !hl || !sk || th != napi_uint8_array || tl != napi_uint8_array || ts != napi_uint8_array ||
      nh < (size_t)n * (size_t)stride || nl < (size_t)n || ns < (size_t)n) {
    napi_throw_type_error(env, NULL, "sendEncap heads (n * stride bytes), headLens and skips (n each): Uint8Arrays"); return NULL;
  }
  struct mmsghdr m[BURST]; struct iovec iov[2 * BURST]; struct sockaddr_storage ss[BURST];
  for (int32_t i = 0; i < n; i++) {
    uint32_t off = p->off[h[i]], len = p->len[h[i]];
    if (off + len > p->slot_size || sk[i] > len || hl[i] > stride) { napi_throw_range_error(env, NULL, "frame outside its slot, skip past its end or header past its stride"); return NULL; }
    struct iovec *v = &iov[2 * i];
    v[0].iov_base = heads + (size_t)i * (size_t)stride; v[0].iov_len = hl[i];
    v[1].iov_base = p->data + (size_t)h[i] * p->slot_size + off + sk[i]; v[1].iov_len = len - sk[i];
    memset(&m[i].msg_hdr, 0, sizeof m[i].msg_hdr);
    m[i].msg_hdr.msg_iov = v; m[i].msg_hdr.msg_iovlen = 2;
    if (addrs) { m[i].msg_hdr.msg_name = &ss[i]; m[i].msg_hdr.msg_namelen = get_addr(addrs + (size_t)i * ADDR_REC, &ss[i]); }
  }
  int r = sendmmsg(fd, m, (unsigned)n, 0);
  return num(env, r < 0 ? -errno : r);
}

// readBatch(pool, fd, handles, from, n, vnetHdrLen) -> frames read (0: none waiting) or -errno.
// One readv per frame: the virtio-net header (vnetHdrLen 0 or 12) into the slot's metadata,
// the frame into the slot at the headroom. A frame longer than the slot reads as cap + 1.
napi_value read_batch(napi_env env, napi_callback_info info) {
  size_t argc = 6; napi_value a[6];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  pool_t *p = get_pool(env, a[0]); if (!p) return NULL;
  int32_t fd, from, n, vh;
  if (!arg_i32(env, a[1], &fd) || !arg_i32(env, a[3], &from) || !arg_i32(env, a[4], &n) || !arg_i32(env, a[5], &vh) ||
      (vh != 0 && vh != VNET_HDR) || (vh && !p->vnet)) { napi_throw_type_error(env, NULL, "readBatch(pool, fd, handles, from, n, vnetHdrLen 0|12 with a vnet pool)"); return NULL; }
  int32_t *h = get_handles(env, a[2], p, from, &n); if (!h) return NULL;
  uint32_t cap = p->slot_size - p->headroom;
  int32_t got = 0;
  for (; got < n; got++) {
    struct iovec iov[2]; int k = 0;
    if (vh) { iov[k].iov_base = p->vnet + (size_t)h[got] * VNET_HDR; iov[k++].iov_len = VNET_HDR; }
    iov[k].iov_base = p->data + (size_t)h[got] * p->slot_size + p->headroom; iov[k++].iov_len = cap;
    ssize_t r = readv(fd, iov, k);
    if (r < 0) {
      if (errno == EINTR) { got--; continue; }
      if (errno == EAGAIN || errno == EWOULDBLOCK || got > 0) break;
      return num(env, -errno);
    }
    p->off[h[got]] = (uint16_t)p->headroom;
    p->len[h[got]] = r < vh ? 0 : (uint32_t)(r - vh);
  }
  return num(env, got);
}

// writeBatch(pool, fd, handles, from, n, vnetHdrLen) -> frames written (the first ones), or
// -errno when the first could not be written.
napi_value write_batch(napi_env env, napi_callback_info info) {
  size_t argc = 6; napi_value a[6];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  pool_t *p = get_pool(env, a[0]); if (!p) return NULL;
  int32_t fd, from, n, vh;
  if (!arg_i32(env, a[1], &fd) || !arg_i32(env, a[3], &from) || !arg_i32(env, a[4], &n) || !arg_i32(env, a[5], &vh) ||
      (vh != 0 && vh != VNET_HDR) || (vh && !p->vnet)) { napi_throw_type_error(env, NULL, "writeBatch(pool, fd, handles, from, n, vnetHdrLen 0|12 with a vnet pool)"); return NULL; }
  int32_t *h = get_handles(env, a[2], p, from, &n); if (!h) return NULL;
  int32_t done = 0;
  for (; done < n; done++) {
    uint32_t off = p->off[h[done]], len = p->len[h[done]];
    if (off + len > p->slot_size) { napi_throw_range_error(env, NULL, "frame outside its slot"); return NULL; }
    struct iovec iov[2]; int k = 0;
    if (vh) { iov[k].iov_base = p->vnet + (size_t)h[done] * VNET_HDR; iov[k++].iov_len = VNET_HDR; }
    iov[k].iov_base = p->data + (size_t)h[done] * p->slot_size + off; iov[k++].iov_len = len;
    ssize_t r = writev(fd, iov, k);
    if (r < 0) {
      if (errno == EINTR) { done--; continue; }
      if (done > 0) break;
      return num(env, -errno);
    }
  }
  return num(env, done);
}

