// SPDX-License-Identifier: GPL-2.0
/*
 * cnupper-send: send one message to the cn_upper module and check its reply.
 *
 *	cnupper-send WORD...
 *
 * The words, joined by spaces, go to connector id 18:1. The program prints
 * the reply and exits 0 when it is the text in ASCII upper case, 1 when it
 * is something else, and 2 when no reply came or the arguments are wrong.
 * It uses nothing but the C library, so it links statically:
 *
 *	cc -static -O2 -Wall -o cnupper-send cnupper_send.c
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/connector.h>
#include <linux/netlink.h>

#define UPPER_IDX	18
#define UPPER_VAL	1
#define MAX_TEXT	4096

static unsigned char upper_ascii(unsigned char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 'A';
	return c;
}

int main(int argc, char **argv)
{
	static char text[MAX_TEXT];
	/* Aligned for the headers; room for the request or the reply. */
	static unsigned int buf[(NLMSG_SPACE(sizeof(struct cn_msg) + MAX_TEXT) + 3) / 4];
	struct sockaddr_nl local = { .nl_family = AF_NETLINK };
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct timeval timeout = { .tv_sec = 5 };
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct cn_msg *msg = NLMSG_DATA(nlh);
	size_t len = 0;
	ssize_t n;
	int fd, i;

	if (argc < 2) {
		fprintf(stderr, "usage: cnupper-send WORD...\n");
		return 2;
	}
	for (i = 1; i < argc; i++) {
		size_t w = strlen(argv[i]);

		if (len + w + 1 > sizeof(text)) {
			fprintf(stderr, "cnupper-send: text longer than %d bytes\n", MAX_TEXT);
			return 2;
		}
		if (i > 1)
			text[len++] = ' ';
		memcpy(text + len, argv[i], w);
		len += w;
	}

	fd = socket(PF_NETLINK, SOCK_DGRAM, NETLINK_CONNECTOR);
	if (fd < 0 || bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) < 0) {
		fprintf(stderr, "cnupper-send: netlink socket: %s\n", strerror(errno));
		return 2;
	}

	memset(buf, 0, sizeof(buf));
	nlh->nlmsg_len = NLMSG_LENGTH(sizeof(*msg) + len);
	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_seq = 7;
	msg->id.idx = UPPER_IDX;
	msg->id.val = UPPER_VAL;
	msg->seq = 7;
	msg->ack = 41;
	msg->len = len;
	memcpy(msg->data, text, len);
	if (sendto(fd, nlh, nlh->nlmsg_len, 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) < 0) {
		fprintf(stderr, "cnupper-send: send: %s\n", strerror(errno));
		return 2;
	}

	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0) {
		fprintf(stderr, "cnupper-send: no reply from %d:%d: %s (is cn_upper loaded?)\n",
			UPPER_IDX, UPPER_VAL, strerror(errno));
		return 2;
	}
	if (!NLMSG_OK(nlh, n) || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*msg)) ||
	    NLMSG_LENGTH(sizeof(*msg) + msg->len) > nlh->nlmsg_len) {
		fprintf(stderr, "cnupper-send: malformed reply of %zd bytes\n", n);
		return 2;
	}
	printf("cnupper-send: sent \"%.*s\", got \"%.*s\" (seq %u, ack %u)\n",
	       (int)len, text, (int)msg->len, (char *)msg->data, msg->seq, msg->ack);

	if (msg->id.idx != UPPER_IDX || msg->id.val != UPPER_VAL ||
	    msg->seq != 7 || msg->ack != 42 || msg->len != len)
		goto wrong;
	for (i = 0; i < (int)len; i++)
		if (msg->data[i] != upper_ascii(text[i]))
			goto wrong;
	close(fd);
	return 0;

wrong:
	fprintf(stderr, "cnupper-send: the reply is not the text in upper case\n");
	close(fd);
	return 1;
}
