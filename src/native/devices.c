// Opening what the burst calls read and write — UDP sockets, taps (one descriptor per queue),
// AF_PACKET sockets — and asking about interfaces; the blocking poll and the eventfd that
// wakes it; closing.

#include "io.h"

// udpOpen(localIp, localPort, remoteIp | null, remotePort, bufferBytes) -> fd or -errno.
// Bound to local, connected to remote when given; buffers forced past rmem_max where permitted.
napi_value udp_open(napi_env env, napi_callback_info info) {
  size_t argc = 5; napi_value a[5];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  char lip[64], rip[64]; int32_t lport, rport, bytes;
  napi_valuetype rt; napi_typeof(env, a[2], &rt);
  int remote = rt != napi_null && rt != napi_undefined;
  if (argc < 5 || !get_string(env, a[0], lip, sizeof lip) || !arg_i32(env, a[1], &lport) || (remote && !get_string(env, a[2], rip, sizeof rip)) ||
      !arg_i32(env, a[3], &rport) || !arg_i32(env, a[4], &bytes)) { napi_throw_type_error(env, NULL, "udpOpen(localIp, localPort, remoteIp|null, remotePort, bufferBytes)"); return NULL; }
  struct sockaddr_storage l, r; socklen_t ll = 0, rl = 0;
  int fam = parse_ip(lip, lport, &l, &ll);
  if (fam < 0 || (remote && parse_ip(rip, rport, &r, &rl) != fam)) return num(env, -EINVAL);
  int fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return num(env, -errno);
  set_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, bytes);
  set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, bytes);
  if (bind(fd, (void *)&l, ll) < 0 || (remote && connect(fd, (void *)&r, rl) < 0)) { int e = errno; close(fd); return num(env, -e); }
  return num(env, fd);
}

// rawOpen(bufferBytes) -> fd or -errno: an IPv4 raw socket (IPPROTO_RAW: the caller writes
// the IP header, the kernel fills its checksum, total length and, when zero, id and source),
// for sending only — an encapsulating uplink that chooses each datagram's UDP source port.
napi_value raw_open(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value a[1]; int32_t bytes;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc < 1 || !arg_i32(env, a[0], &bytes)) { napi_throw_type_error(env, NULL, "rawOpen(bufferBytes)"); return NULL; }
  int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (fd < 0) return num(env, -errno);
  set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, bytes);
  return num(env, fd);
}

// sockInfo(fd, what) -> 0: receive buffer bytes, 1: send buffer bytes, 2: bound port; or -errno.
napi_value sock_info(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value a[2]; int32_t fd, what;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (!arg_i32(env, a[0], &fd) || !arg_i32(env, a[1], &what)) { napi_throw_type_error(env, NULL, "sockInfo(fd, what)"); return NULL; }
  if (what == 2) {
    struct sockaddr_storage ss; socklen_t sl = sizeof ss;
    if (getsockname(fd, (void *)&ss, &sl) < 0) return num(env, -errno);
    return num(env, ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port : ((struct sockaddr_in6 *)&ss)->sin6_port));
  }
  int v = 0; socklen_t sl = sizeof v;
  if (getsockopt(fd, SOL_SOCKET, what == 0 ? SO_RCVBUF : SO_SNDBUF, &v, &sl) < 0) return num(env, -errno);
  return num(env, v);
}

// tapOpen(name, vnetHdr, multiQueue, offloadFlags, persist) -> fd or -errno. A tap of that name
// is created, or attached if it exists (same flags). Non-blocking; IFF_NO_PI.
napi_value tap_open(napi_env env, napi_callback_info info) {
  size_t argc = 5; napi_value a[5];
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  char name[IFNAMSIZ + 1]; bool vnet, mq, persist; int32_t offload;
  if (argc < 5 || !get_string(env, a[0], name, sizeof name) || napi_get_value_bool(env, a[1], &vnet) != napi_ok ||
      napi_get_value_bool(env, a[2], &mq) != napi_ok || !arg_i32(env, a[3], &offload) || napi_get_value_bool(env, a[4], &persist) != napi_ok) {
    napi_throw_type_error(env, NULL, "tapOpen(name, vnetHdr, multiQueue, offloadFlags, persist)"); return NULL;
  }
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return num(env, -errno);
  struct ifreq ifr; memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, strlen(name));
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0) | (mq ? IFF_MULTI_QUEUE : 0);
  int hs = VNET_HDR;
  if (ioctl(fd, TUNSETIFF, &ifr) < 0 || (vnet && ioctl(fd, TUNSETVNETHDRSZ, &hs) < 0) ||
      ioctl(fd, TUNSETOFFLOAD, (unsigned long)(vnet ? offload : 0)) < 0 || (persist && ioctl(fd, TUNSETPERSIST, 1) < 0)) {
    int e = errno; close(fd); return num(env, -e);
  }
  return num(env, fd);
}

// tapControl(fd, what, value) -> 0 or -errno. what 0: TUNSETOFFLOAD flags; 1: TUNSETPERSIST.
napi_value tap_control(napi_env env, napi_callback_info info) {
  size_t argc = 3; napi_value a[3]; int32_t fd, what, v;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (!arg_i32(env, a[0], &fd) || !arg_i32(env, a[1], &what) || !arg_i32(env, a[2], &v)) { napi_throw_type_error(env, NULL, "tapControl(fd, what, value)"); return NULL; }
  int r = ioctl(fd, what == 0 ? TUNSETOFFLOAD : TUNSETPERSIST, (unsigned long)v);
  return num(env, r < 0 ? -errno : 0);
}

// linkInfo(name, what, value) -> what 0: interface index; 1: flags (IFF_UP bit 0, IFF_RUNNING
// bit 6); 2: MTU; 3: set MTU to value; 4: set up (value 1) or down (0). -errno on failure.
napi_value link_info(napi_env env, napi_callback_info info) {
  size_t argc = 3; napi_value a[3]; char name[IFNAMSIZ + 1]; int32_t what, v;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (!get_string(env, a[0], name, sizeof name) || !arg_i32(env, a[1], &what) || !arg_i32(env, a[2], &v)) { napi_throw_type_error(env, NULL, "linkInfo(name, what, value)"); return NULL; }
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return num(env, -errno);
  struct ifreq ifr; memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, strlen(name));
  int r = 0;
  if (what == 0) r = ioctl(s, SIOCGIFINDEX, &ifr) < 0 ? -errno : ifr.ifr_ifindex;
  else if (what == 1) r = ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ? -errno : (ifr.ifr_flags & 0xffff);
  else if (what == 2) r = ioctl(s, SIOCGIFMTU, &ifr) < 0 ? -errno : ifr.ifr_mtu;
  else if (what == 3) { ifr.ifr_mtu = v; r = ioctl(s, SIOCSIFMTU, &ifr) < 0 ? -errno : 0; }
  else if (what == 4) {
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) r = -errno;
    else { if (v) ifr.ifr_flags |= IFF_UP; else ifr.ifr_flags &= ~IFF_UP; r = ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0; }
  } else r = -EINVAL;
  close(s);
  return num(env, r);
}

// packetOpen(ifindex, vnetHdr, fanoutGroup (0: none), qdiscBypass, bufferBytes) -> fd or -errno.
// An AF_PACKET socket bound to the interface, promiscuous, seeing every frame it receives and
// sends except its own sends (PACKET_IGNORE_OUTGOING). Non-blocking reads (MSG_DONTWAIT).
napi_value packet_open(napi_env env, napi_callback_info info) {
  size_t argc = 5; napi_value a[5]; int32_t ifindex, fanout, bytes; bool vnet, bypass;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc < 5 || !arg_i32(env, a[0], &ifindex) || napi_get_value_bool(env, a[1], &vnet) != napi_ok || !arg_i32(env, a[2], &fanout) ||
      napi_get_value_bool(env, a[3], &bypass) != napi_ok || !arg_i32(env, a[4], &bytes)) { napi_throw_type_error(env, NULL, "packetOpen(ifindex, vnetHdr, fanoutGroup, qdiscBypass, bufferBytes)"); return NULL; }
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) return num(env, -errno);
  int one = 1;
  struct sockaddr_ll sll; memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET; sll.sll_protocol = htons(ETH_P_ALL); sll.sll_ifindex = ifindex;
  int fo = (fanout & 0xffff) | (PACKET_FANOUT_HASH << 16);
  set_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, bytes);
  set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, bytes);
  if ((vnet && setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) ||
      setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0 ||
      (bypass && setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0) ||
      bind(fd, (void *)&sll, sizeof sll) < 0 ||
      (fanout && setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &fo, sizeof fo) < 0)) {
    int e = errno; close(fd); return num(env, -e);
  }
  // Every frame the interface receives, whatever its destination MAC (a NIC filters otherwise).
  struct packet_mreq mr; memset(&mr, 0, sizeof mr);
  mr.mr_ifindex = ifindex; mr.mr_type = PACKET_MR_PROMISC;
  setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr);
  return num(env, fd);
}

// packetBind(fd, ifindex) -> 0 or -errno: bind an AF_PACKET socket to an interface again (the
// interface it was bound to went away and came back with a new index).
napi_value packet_bind(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value a[2]; int32_t fd, ifindex;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (!arg_i32(env, a[0], &fd) || !arg_i32(env, a[1], &ifindex)) { napi_throw_type_error(env, NULL, "packetBind(fd, ifindex)"); return NULL; }
  struct sockaddr_ll sll; memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET; sll.sll_protocol = htons(ETH_P_ALL); sll.sll_ifindex = ifindex;
  if (bind(fd, (void *)&sll, sizeof sll) < 0) return num(env, -errno);
  struct packet_mreq mr; memset(&mr, 0, sizeof mr);
  mr.mr_ifindex = ifindex; mr.mr_type = PACKET_MR_PROMISC;
  setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr);
  return num(env, 0);
}

// pollIn(fds: Int32Array, n, timeoutUs, ready: Uint8Array) -> how many are readable (0: timed
// out) or -errno; ready[i] = 1 for each readable (or failed: POLLERR/POLLHUP) fd. Blocks up to
// timeoutUs microseconds (-1: until one is readable): ppoll, so a shaper's thread can sleep
// until its next frame is due.
napi_value poll_in(napi_env env, napi_callback_info info) {
  size_t argc = 4; napi_value a[4]; int32_t n, timeout; size_t nf = 0, nr = 0; napi_typedarray_type tf = napi_int8_array, tr = tf;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  int32_t *fds = typed(env, a[0], &nf, &tf); uint8_t *ready = typed(env, a[3], &nr, &tr);
  if (!fds || !ready || tf != napi_int32_array || tr != napi_uint8_array || !arg_i32(env, a[1], &n) || !arg_i32(env, a[2], &timeout) ||
      n < 0 || n > MAX_POLL || (size_t)n > nf || (size_t)n > nr) { napi_throw_type_error(env, NULL, "pollIn(fds: Int32Array, n <= 64, timeoutUs, ready: Uint8Array)"); return NULL; }
  struct pollfd pf[MAX_POLL];
  for (int32_t i = 0; i < n; i++) { pf[i].fd = fds[i]; pf[i].events = POLLIN; pf[i].revents = 0; }
  struct timespec ts = { timeout / 1000000, (long)(timeout % 1000000) * 1000 };
  int r = ppoll(pf, (nfds_t)n, timeout < 0 ? NULL : &ts, NULL);
  if (r < 0) return num(env, errno == EINTR ? 0 : -errno);
  for (int32_t i = 0; i < n; i++) ready[i] = pf[i].revents != 0;
  return num(env, r);
}

// timerSlack(ns) -> 0 or -errno: how late the kernel may wake this thread from a timed sleep
// (PR_SET_TIMERSLACK; the default, 50 µs, is a third of a frame's time at 100 Mb/s).
napi_value timer_slack(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value a[1]; int32_t ns;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (!arg_i32(env, a[0], &ns) || ns < 1) { napi_throw_type_error(env, NULL, "timerSlack(ns >= 1)"); return NULL; }
  return num(env, prctl(PR_SET_TIMERSLACK, (unsigned long)ns, 0, 0, 0) < 0 ? -errno : 0);
}

// eventfdOpen() -> fd or -errno (non-blocking). eventfdSignal(fd) wakes a poller; eventfdDrain(fd) resets it.
napi_value eventfd_open(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  return num(env, fd < 0 ? -errno : fd);
}

static napi_value eventfd_op(napi_env env, napi_callback_info info, int drain) {
  size_t argc = 1; napi_value a[1]; int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (!arg_i32(env, a[0], &fd)) { napi_throw_type_error(env, NULL, "eventfd(fd)"); return NULL; }
  uint64_t v = 1;
  ssize_t r = drain ? read(fd, &v, sizeof v) : write(fd, &v, sizeof v);
  return num(env, r < 0 ? (errno == EAGAIN ? 0 : -errno) : 1);
}
napi_value eventfd_signal(napi_env env, napi_callback_info info) { return eventfd_op(env, info, 0); }
napi_value eventfd_drain(napi_env env, napi_callback_info info) { return eventfd_op(env, info, 1); }

// closeFd(fd) -> 0 or -errno.
napi_value close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value a[1]; int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (!arg_i32(env, a[0], &fd)) { napi_throw_type_error(env, NULL, "closeFd(fd)"); return NULL; }
  return num(env, close(fd) < 0 ? -errno : 0);
}

// strerror(errno) -> its name-like text, for messages (off the data path).
napi_value str_error(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value a[1]; int32_t e; napi_value r;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (!arg_i32(env, a[0], &e)) { napi_throw_type_error(env, NULL, "strerror(errno)"); return NULL; }
  napi_create_string_utf8(env, strerror(e < 0 ? -e : e), NAPI_AUTO_LENGTH, &r);
  return r;
}

