/*
 * resp.c - commands in RESP (resp.h). Depends on libc only.
 */
#include "resp.h"

#include "strx.h"

/* "<c><n>\r\n" */
static void add_head(struct sbuf *sb, char c, size_t n)
{
	char num[STRX_INT_MAX];
	size_t k = strx_u64(num, n);

	sbuf_addc(sb, c);
	sbuf_add(sb, num, k);
	sbuf_add(sb, "\r\n", 2);
}

void resp_command(struct sbuf *sb, int argc, const char **argv,
		  const size_t *lens)
{
	size_t total = 16;

	for (int i = 0; i < argc; i++)
		total += lens[i] + 16;
	sbuf_reserve(sb, total);
	add_head(sb, '*', (size_t)argc);
	for (int i = 0; i < argc; i++) {
		add_head(sb, '$', lens[i]);
		sbuf_add(sb, argv[i], lens[i]);
		sbuf_add(sb, "\r\n", 2);
	}
}
