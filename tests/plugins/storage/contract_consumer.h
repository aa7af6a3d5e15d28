/* SPDX-License-Identifier: MIT */
/*
 * The tiny service of the contract suite's test consumer
 * (contract_consumer.c), shared with the suite (test_contract.c): it
 * hands back the plt_storage handle the consumer acquired.
 */
#ifndef PLATEAU_TEST_CONTRACT_CONSUMER_H
#define PLATEAU_TEST_CONTRACT_CONSUMER_H

#include <stdint.h>

#include <plateau/svc/storage.h>

#define CC_SERVICE "contract_consumer"
/** Migrations of the first release (tables, seed row). */
#define CC_MIGRATIONS_V1 6
/** Migrations of the second release (a column, a per-engine index). */
#define CC_MIGRATIONS_MAX 8

typedef struct cc_vt {
    uint32_t size;
    /** The storage handle the consumer acquired in its init(). */
    const plt_storage *(*storage)(void *impl);
} cc_vt;

#endif
