/*
 * test_doclock.c - one write in flight per document: the first caller
 * holds it, later ones queue in arrival order, release hands over to the
 * oldest waiter, and documents are independent of each other.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common.h"
#include "doclock.h"

static void test_fifo(void **state)
{
	struct doclock *t = doclock_new();
	struct doclock_waiter w[5];

	(void)state;
	assert_non_null(t);
	assert_int_equal(doclock_acquire(t, "c", "a", &w[0], 100), 1);
	for (int i = 1; i < 5; i++)
		assert_int_equal(doclock_acquire(t, "c", "a", &w[i], 100), 0);
	assert_int_equal(doclock_held(t), 1);
	assert_int_equal(doclock_waiting(t), 4);
	/* hand-over in arrival order */
	for (int i = 1; i < 5; i++)
		assert_ptr_equal(doclock_release(t, "c", "a"), &w[i]);
	assert_int_equal(doclock_waiting(t), 0);
	assert_int_equal(doclock_held(t), 1);
	/* the last holder frees the document */
	assert_null(doclock_release(t, "c", "a"));
	assert_int_equal(doclock_held(t), 0);
	/* free again: the next caller holds it at once */
	assert_int_equal(doclock_acquire(t, "c", "a", &w[0], 100), 1);
	assert_null(doclock_release(t, "c", "a"));
	/* releasing what nobody holds is harmless */
	assert_null(doclock_release(t, "c", "a"));
	doclock_free(t);
}

static void test_independent(void **state)
{
	struct doclock *t = doclock_new();
	struct doclock_waiter a, b, c, d;

	(void)state;
	assert_int_equal(doclock_acquire(t, "c", "x", &a, 100), 1);
	/* another id, and the same id in another collection */
	assert_int_equal(doclock_acquire(t, "c", "y", &b, 100), 1);
	assert_int_equal(doclock_acquire(t, "d", "x", &c, 100), 1);
	/* "c"/"x.y" vs "c.x"/"y": names cannot collide through the separator */
	assert_int_equal(doclock_acquire(t, "c.x", "y", &d, 100), 1);
	assert_int_equal(doclock_held(t), 4);
	assert_null(doclock_release(t, "c", "x"));
	assert_null(doclock_release(t, "c", "y"));
	assert_null(doclock_release(t, "d", "x"));
	assert_null(doclock_release(t, "c.x", "y"));
	assert_int_equal(doclock_held(t), 0);
	doclock_free(t);
	doclock_free(NULL);
}

/* A waiter queued while another waits behind the holder keeps its place
 * when the queue empties and refills. */
static void test_interleaved(void **state)
{
	struct doclock *t = doclock_new();
	struct doclock_waiter w[4];

	(void)state;
	assert_int_equal(doclock_acquire(t, "c", "a", &w[0], 100), 1);
	assert_int_equal(doclock_acquire(t, "c", "a", &w[1], 100), 0);
	assert_ptr_equal(doclock_release(t, "c", "a"), &w[1]);
	assert_int_equal(doclock_acquire(t, "c", "a", &w[2], 100), 0);
	assert_int_equal(doclock_acquire(t, "c", "a", &w[3], 100), 0);
	assert_ptr_equal(doclock_release(t, "c", "a"), &w[2]);
	assert_ptr_equal(doclock_release(t, "c", "a"), &w[3]);
	assert_null(doclock_release(t, "c", "a"));
	assert_int_equal(doclock_held(t), 0);
	doclock_free(t);
}

/* Past max_waiting writes waiting (over all documents) a write that would
 * wait is refused; one that can hold its document at once never is. */
static void test_bound(void **state)
{
	struct doclock *t = doclock_new();
	struct doclock_waiter w[6];

	(void)state;
	assert_int_equal(doclock_acquire(t, "c", "a", &w[0], 2), 1);
	assert_int_equal(doclock_acquire(t, "c", "a", &w[1], 2), 0);
	assert_int_equal(doclock_acquire(t, "c", "b", &w[2], 2), 1);
	assert_int_equal(doclock_acquire(t, "c", "b", &w[3], 2), 0);
	assert_int_equal(doclock_acquire(t, "c", "a", &w[4], 2), GW_ERATE);
	assert_int_equal(doclock_acquire(t, "c", "b", &w[4], 2), GW_ERATE);
	assert_int_equal(doclock_acquire(t, "c", "free", &w[5], 2), 1);
	assert_int_equal(doclock_waiting(t), 2);
	assert_ptr_equal(doclock_release(t, "c", "a"), &w[1]);
	assert_int_equal(doclock_acquire(t, "c", "a", &w[4], 2), 0);
	assert_ptr_equal(doclock_release(t, "c", "a"), &w[4]);
	assert_null(doclock_release(t, "c", "a"));
	assert_ptr_equal(doclock_release(t, "c", "b"), &w[3]);
	assert_null(doclock_release(t, "c", "b"));
	assert_null(doclock_release(t, "c", "free"));
	assert_int_equal(doclock_held(t), 0);
	doclock_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo),
		cmocka_unit_test(test_independent),
		cmocka_unit_test(test_interleaved),
		cmocka_unit_test(test_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
