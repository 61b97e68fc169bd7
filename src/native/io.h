// sluice_io's shared declarations: the pool binding, the limits, and the argument helpers the
// three source files use (sluice_io.c: module and helpers; batch.c: the burst calls;
// devices.c: opening sockets, taps and AF_PACKET, polling, eventfds).
#ifndef SLUICE_IO_H
#define SLUICE_IO_H

#define NAPI_VERSION 8
#define _GNU_SOURCE
#include <node_api.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/** Most messages one call moves (the JS side never asks for more). */
#define BURST 256
/** Bytes per peer-address record: family u16, port u16 (network order), address 16, scope id u32. */
#define ADDR_REC 24
#define VNET_HDR 12
#define MAX_POLL 64

typedef struct {
  uint8_t *data;     // slot bytes
  uint16_t *off;     // frame start within the slot
  uint32_t *len;     // frame length
  uint8_t *vnet;     // VNET_HDR bytes per slot, or NULL
  uint32_t slots, slot_size, headroom;
  napi_ref refs[4];
} pool_t;

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_type_error(env, NULL, #call " failed"); return NULL; } } while (0)


napi_value num(napi_env env, int64_t v);
int arg_i32(napi_env env, napi_value v, int32_t *out);
void *typed(napi_env env, napi_value v, size_t *count, napi_typedarray_type *type);
pool_t *get_pool(napi_env env, napi_value v);
int32_t *get_handles(napi_env env, napi_value v, pool_t *p, int32_t from, int32_t *n);
void put_addr(uint8_t *rec, const struct sockaddr_storage *ss);
socklen_t get_addr(const uint8_t *rec, struct sockaddr_storage *ss);
uint8_t *get_addrs(napi_env env, napi_value v, int32_t n, int *bad);
int get_vh(napi_env env, napi_value v, pool_t *p, int32_t *vh);
int set_buf(int fd, int force, int plain, int bytes);
int parse_ip(const char *s, int port, struct sockaddr_storage *ss, socklen_t *sl);
int get_string(napi_env env, napi_value v, char *buf, size_t size);

napi_value recv_batch(napi_env env, napi_callback_info info);
napi_value send_batch(napi_env env, napi_callback_info info);
napi_value send_encap(napi_env env, napi_callback_info info);
napi_value read_batch(napi_env env, napi_callback_info info);
napi_value write_batch(napi_env env, napi_callback_info info);
napi_value udp_open(napi_env env, napi_callback_info info);
napi_value raw_open(napi_env env, napi_callback_info info);
napi_value sock_info(napi_env env, napi_callback_info info);
napi_value tap_open(napi_env env, napi_callback_info info);
napi_value tap_control(napi_env env, napi_callback_info info);
napi_value link_info(napi_env env, napi_callback_info info);
napi_value packet_open(napi_env env, napi_callback_info info);
napi_value packet_bind(napi_env env, napi_callback_info info);
napi_value poll_in(napi_env env, napi_callback_info info);
napi_value timer_slack(napi_env env, napi_callback_info info);
napi_value eventfd_open(napi_env env, napi_callback_info info);
napi_value eventfd_signal(napi_env env, napi_callback_info info);
napi_value eventfd_drain(napi_env env, napi_callback_info info);
napi_value close_fd(napi_env env, napi_callback_info info);
napi_value str_error(napi_env env, napi_callback_info info);

#endif
