#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kmsg.h"

struct kmsg {
	int fd;
	uint64_t lost;
	char buf[KMSG_RECORD_MAX];
};

/* A decimal field ending at one of the bytes of `ends`. */
static int parse_field(const char **p, const char *end, const char *ends, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	if (s >= end || *s < '0' || *s > '9')
		return -EPROTO;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -EPROTO;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (s >= end || !strchr(ends, *s) || !*s)
		return -EPROTO;
	*out = v;
	*p = s;
	return 0;
}

int kmsg__parse(const char *buf, size_t len, struct kmsg_record *out)
{
	const char *p = buf, *end = buf + len, *semi, *nl;
	uint64_t prio, seq, usec;

	if (!buf || !out)
		return -EPROTO;
	if (parse_field(&p, end, ",", &prio) || prio > 0xffffff)
		return -EPROTO;
	p++;
	if (parse_field(&p, end, ",", &seq))
		return -EPROTO;
	p++;
	if (parse_field(&p, end, ",;", &usec))
		return -EPROTO;
	/* Flags and any fields later kernels add come before the ';'. */
	semi = memchr(p, ';', (size_t)(end - p));
	if (!semi)
		return -EPROTO;
	semi++;
	nl = memchr(semi, '\n', (size_t)(end - semi));
	*out = (struct kmsg_record){
		.facility = (unsigned)(prio >> 3), .level = (unsigned)(prio & 7),
		.seq = seq, .usec = usec, .msg = semi,
		.msg_len = (size_t)((nl ? nl : end) - semi),
	};
	return 0;
}

bool kmsg__from_kernel(const struct kmsg_record *r)
{
	return r && r->facility == 0;
}

int kmsg__open(const char *path, struct kmsg **out)
{
	struct kmsg *k = malloc(sizeof(*k));
	int err;

	*out = NULL;
	if (!k)
		return -ENOMEM;
	k->lost = 0;
	k->fd = open(path ? path : "/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (k->fd < 0) {
		err = -errno;
		free(k);
		return err;
	}
	/* The kills before memscope started are not its to report. */
	if (lseek(k->fd, 0, SEEK_END) < 0 && errno != ESPIPE) {
		err = -errno;
		kmsg__close(k);
		return err;
	}
	*out = k;
	return 0;
}

int kmsg__next(struct kmsg *k, struct kmsg_record *rec)
{
	/* EPIPE says records were overwritten; the next read goes on from the
	 * oldest one still there. Bounded so a log that moves faster than we
	 * read cannot keep us here. */
	for (int tries = 0; tries < 64; tries++) {
		ssize_t n = read(k->fd, k->buf, sizeof(k->buf));

		if (n < 0 && errno == EPIPE) {
			k->lost++;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (n == 0)
			return 0;
		if (kmsg__parse(k->buf, (size_t)n, rec))
			continue;	/* not a record we can read: skip it */
		return 1;
	}
	return 0;
}

int kmsg__wait(struct kmsg *k, int timeout_ms)
{
	struct pollfd p = { .fd = k->fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) > 0 && (p.revents & POLLIN);
}

uint64_t kmsg__lost(const struct kmsg *k)
{
	return k ? k->lost : 0;
}

void kmsg__close(struct kmsg *k)
{
	if (!k)
		return;
	if (k->fd >= 0)
		close(k->fd);
	free(k);
}
