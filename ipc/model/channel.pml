/*
 * channel.pml - a Promela model of the helix channel protocol (docs/channel.md, ipc/channel.c),
 * checked by spin (ipc/model/channel_model_check.sh; what is modelled and why: README.md here).
 *
 * Processes: NPROD producers (hx_chan_send), one consumer (hx_chan_recv, or recv_many), and a
 * closer (hx_chan_close at any moment, or never). Shared state: tail with its CLOSED bit, the
 * slots (seq and message), consumer_waiting, senders_waiting, the closed flag, the two eventcounts
 * (futex words) and their futex queues.
 *
 * Memory model: x86-TSO. Every plain store goes into the storing process's FIFO store buffer (two
 * entries; a third store first drains the oldest) and reaches memory later; a load reads the
 * newest own buffered store to its location (forwarding), else memory. Locked instructions (CAS,
 * exchange, fetch_add/sub/or), seq_cst fences and system calls (futex) drain their own buffer
 * first. hx_barrier_light() is nothing; hx_barrier_heavy() (membarrier, with a fence on each side
 * in the caller) drains every buffer, the caller's included, in one step.
 *
 * The senders' announcement (channel.c): store(senders_waiting, 1); seq_cst fence; re-try. The
 * consumer, after a receive, fences once its frees since its last fence reach FENCE_EVERY
 * (capacity - wake_len), then loads senders_waiting; in between only a compiler barrier.
 * HEAVY_SENDER models the protocol before that: a heavy barrier after the sender's store and
 * no fence in the consumer.
 *
 * The consumer's sleep (channel.c, take_slow): store(consumer_waiting, 1); seq_cst fence; load
 * tail (the tail check); only when a position past head is claimed, hx_barrier_heavy(); re-check.
 * A producer's claim is a locked CAS, so its later load of consumer_waiting in publish cannot
 * pass it: a claim the tail check missed is followed by a load that sees the flag.
 *
 * Properties (assertions and end states):
 *  - every accepted message (CAS succeeded) is received exactly once, at the position it claimed,
 *    and a message whose send failed is never received;
 *  - per-producer FIFO: when a message is received, its producer's previous one was received
 *    already or its send failed;
 *  - the consumer gets -EPIPE only when every accepted message has been received;
 *  - at the end every message was received or its send failed;
 *  - no invalid end state: a process left blocked in futex_wait (a lost wakeup) or any other
 *    deadlock is reported by spin as an "invalid end state".
 *
 * Switches (spin -D...):
 *   NPROD=n CAP=c NMSG=k     producers (1..3), capacity, messages per producer (default 2, 2, 2)
 *   NO_CLOSE                 no closer process
 *   CONSUMER_CLOSES          no closer process; the consumer may close after any receive
 *   CONSUMER_STOPS           no closer process; the consumer may stop receiving after any receive
 *                            (once): when nobody else can move, it asserts that any sender asleep
 *                            for space sleeps next to more than WAKE_LEN claimed messages (the
 *                            watermark's promise), then closes and drains the channel
 *   HEAVY_SENDER             the previous protocol: the sender's announcement is followed by
 *                            hx_barrier_heavy() (membarrier) and the consumer never fences
 *   FENCE_EVERY=k            the consumer fences once its frees since the last fence reach k;
 *                            default CAP - WAKE_LEN (at least 1) as in channel.c. A larger k breaks
 *                            the watermark's promise (CONSUMER_STOPS finds it); a k above the
 *                            number of messages is "never" and loses wakeups outright
 *   RECV_MANY                the consumer uses hx_chan_recv_many with max 2
 *   SPURIOUS                 futex_wait may return without a wake (safety only: nothing blocks)
 *   NOWAIT                   every send is HX_NOWAIT or HX_FOREVER, chosen nondeterministically
 *   DEADLINE                 producer 0 has a finite deadline: it may pass at any check, and its
 *                            futex_wait may time out, also racing with a wake that chose it
 *   FINE_CLAIM               the claim as three steps (load tail, load seq, CAS) instead of one
 *   FINE_WATERMARK           notify_space's load of senders_waiting and its load of tail (in
 *                            hx_chan_len) as two steps instead of one
 *   SEQ_VYUKOV               Vyukov's seq encoding (free p, published p + 1, freed p + C) instead
 *                            of channel.c's doubled one (free 2p, published 2p + 1, freed 2(p + C))
 *   DEADLINE_FIRST           (with DEADLINE) a sender whose futex_wait returned after its deadline
 *                            gives up at once instead of re-trying the claim first (channel.c
 *                            re-tries). It lost a wakeup when the consumer woke one sleeper per
 *                            freed slot; since it wakes all of them, it loses none
 *   JOIN_ANNOUNCEMENT        (with HEAVY_SENDER) a sender about to sleep that finds
 *                            senders_waiting set already skips its own store and heavy barrier (an
 *                            alternative to that protocol: correct, but measured slower;
 *                            docs/channel.md)
 *   WAKE_ALL                 the protocol before the wake relay: the consumer wakes every sleeping
 *                            sender itself (channel.c: it wakes one and leaves the rest to the
 *                            first sender back from futex_wait, see take_relay)
 *   HEAVY_ALWAYS             the consumer's sleep before the tail check: no fence, no tail check,
 *                            the heavy barrier every time
 *   WAKE_LEN=w               the consumer wakes sleeping senders only when the channel has drained
 *                            to at most w messages (hx_chan_len); default CAP / 2 as in channel.c
 *                            (integer division: 1 at capacity 2, 0 at capacity 1). 0 is the most
 *                            hysteresis (wake only when drained), CAP none (the old rule)
 * Broken variants (the check expects each to fail):
 *   BROKEN_NO_HEAVY_BARRIER  hx_barrier_heavy() does nothing
 *   BROKEN_HEAVY_NOT_SELF    hx_barrier_heavy() drains the other processes' buffers, not the caller's
 *                            (with HEAVY_ALWAYS: the tail check's fence drains the caller's anyway)
 *   BROKEN_TAIL_CHECK_NO_FENCE  the consumer loads tail without the fence after its flag store: the
 *                            flag may still be buffered when a producer claims, publishes and loads it
 *   BROKEN_NO_EVENTCOUNT     sleepers load the event word after the re-check, just before futex_wait
 *   BROKEN_WAKE_ONE          the consumer, having cleared senders_waiting, wakes one sleeper and
 *                            sets no wake relay: nobody wakes the others
 *   BROKEN_SENDER_CLEARS     a sender stores senders_waiting = 0 after each attempt (as it used to
 *                            decrement a count of waiters), erasing another sender's announcement
 *   BROKEN_WAKE_LEN_AFTER_CLEAR  the consumer exchanges senders_waiting to 0 first and then, finding
 *                            the channel above WAKE_LEN, returns without waking: the announcement
 *                            is gone and the sleepers with it
 *   SEQ_VYUKOV with CAP=1    Vyukov's encoding cannot tell "published p" from "free for p + 1"
 */

#ifndef NPROD
#define NPROD 2
#endif
#ifndef CAP
#define CAP 2
#endif
#ifndef NMSG
#define NMSG 2
#endif
#if NPROD > 3
#error "at most 3 producers (store buffers and futex queues are sized for 5 processes)"
#endif
#ifndef WAKE_LEN
#define WAKE_LEN (CAP / 2)
#endif
#if WAKE_LEN < 0 || WAKE_LEN > CAP
#error "WAKE_LEN is a number of messages: 0..CAP"
#endif
#ifndef FENCE_EVERY
#if WAKE_LEN < CAP
#define FENCE_EVERY (CAP - WAKE_LEN)
#else
#define FENCE_EVERY 1
#endif
#endif
#if defined(JOIN_ANNOUNCEMENT) && !defined(HEAVY_SENDER)
#error "JOIN_ANNOUNCEMENT relies on the announcing sender's heavy barrier: add HEAVY_SENDER"
#endif
#if defined(CONSUMER_STOPS) && (defined(NO_CLOSE) || defined(CONSUMER_CLOSES))
#error "CONSUMER_STOPS closes the channel itself"
#endif

#define TOTAL (NPROD * NMSG)     /* messages 1..TOTAL; m is number (m-1)%NMSG+1 of producer (m-1)/NMSG */
#define CONS NPROD               /* process numbers: producers 0..NPROD-1, the consumer, the closer */
#define CLOSER (NPROD + 1)
#define NPROC (NPROD + 2)
#define CLOSED 128               /* bit 63 of tail */

#ifdef RECV_MANY
#define MAXTAKE 2
#else
#define MAXTAKE 1
#endif

#if defined(DEADLINE) || defined(NOWAIT)
#define SENDS_MAY_FAIL           /* a send may fail while the channel is open */
#if defined(NO_CLOSE) || defined(CONSUMER_CLOSES) || defined(CONSUMER_STOPS)
#error "DEADLINE and NOWAIT need the closer: the consumer cannot count the messages to expect"
#endif
#endif

/* Sequence numbers of position p in its slot. */
#ifdef SEQ_VYUKOV
#define FREE(p)      (p)
#define PUBLISHED(p) ((p) + 1)
#define FREED(p)     ((p) + CAP)
#define INITIAL(s)   (s)
#else
#define FREE(p)      (2 * (p))
#define PUBLISHED(p) (2 * (p) + 1)
#define FREED(p)     (2 * ((p) + CAP))
#define INITIAL(s)   (2 * (s))
#endif

/* ---- shared memory ---------------------------------------------------------------------------- */

byte tail;                    /* next position to claim | CLOSED; locked instructions only */
byte slot_seq[CAP];
byte slot_msg[CAP];           /* the message: written before the seq store that publishes it */
bit  consumer_waiting;        /* plain stores by the consumer, exchange by producers */
bit  closed;                  /* plain (release) store by close; read by the consumer */
bit  senders_waiting;         /* plain stores of 1 by senders, exchange to 0 by the consumer */
bit  wake_relay;              /* set by the consumer's wake, exchanged to 0 by a sender back from
                                 futex_wait, which then wakes every sleeper */

/*
 * The eventcounts data_event and space_event (futex words). Their values matter only through
 * futex_wait's "is the word still e", so instead of the counters the model keeps, per word, the set
 * of processes whose loaded e is still current: a load adds the loader, an increment empties the set
 * (exact while a 32-bit counter does not wrap between a load and the futex_wait).
 */
#define DATA 0
#define SPACE 1
byte current[2];
byte queue[2];                /* futex sleepers on each word: bit i = process i */

hidden byte hx_i;             /* loop counter inside atomic steps; not part of the state */

/* ---- x86-TSO store buffers -------------------------------------------------------------------- */

#define A_NONE 0
#define A_SEQ(s) (1 + (s))    /* slot_seq[s] */
#define A_WAITING (CAP + 1)   /* consumer_waiting */
#define A_CLOSED (CAP + 2)    /* closed */
#define A_SENDERS (CAP + 3)   /* senders_waiting */

#define MAXPROC 5
byte sb_addr[2 * MAXPROC];    /* process p: entries 2p (oldest) and 2p + 1 */
byte sb_val[2 * MAXPROC];
#define SBA(p, k) sb_addr[2 * (p) + (k)]
#define SBV(p, k) sb_val[2 * (p) + (k)]

inline write_memory(a, v)
{
	if
	:: a == A_WAITING -> consumer_waiting = v
	:: a == A_CLOSED -> closed = v
	:: a == A_SENDERS -> senders_waiting = v
	:: else -> slot_seq[a - 1] = v
	fi
}

/* The oldest entry of p's buffer reaches memory. */
inline drain_oldest(p)
{
	write_memory(SBA(p, 0), SBV(p, 0));
	SBA(p, 0) = SBA(p, 1);
	SBV(p, 0) = SBV(p, 1);
	SBA(p, 1) = A_NONE;
	SBV(p, 1) = 0
}

/* All of p's buffer reaches memory (p's locked instruction, system call or a heavy barrier). */
inline drain(p)
{
	if
	:: SBA(p, 0) != A_NONE -> drain_oldest(p)
	:: else -> skip
	fi;
	if
	:: SBA(p, 0) != A_NONE -> drain_oldest(p)
	:: else -> skip
	fi
}

/* A plain store by p (inside an atomic step). */
inline buffer_store(p, a, v)
{
	if
	:: SBA(p, 1) != A_NONE -> drain_oldest(p)
	:: else -> skip
	fi;
	if
	:: SBA(p, 0) == A_NONE -> SBA(p, 0) = a; SBV(p, 0) = v
	:: else -> SBA(p, 1) = a; SBV(p, 1) = v
	fi
}

inline store(p, a, v)
{
	d_step { buffer_store(p, a, v) }
}

/*
 * When a buffered store reaches memory is observable only through loads of its location (and the
 * owner's own fences), so the model drains lazily: a process about to load location a from
 * memory may first let another process's buffer drain up to its store to a, or not. Every TSO
 * execution has a run of this model with the same loads and results and vice versa, with far
 * fewer interleavings than a drainer that may run at every step.
 */
inline maybe_drain_writer_of(a)
{
	if
	:: true -> skip
	:: SBA(0, 0) == (a) -> d_step { drain_oldest(0) }
	:: SBA(0, 1) == (a) -> d_step { drain(0) }
	:: SBA(1, 0) == (a) -> d_step { drain_oldest(1) }
	:: SBA(1, 1) == (a) -> d_step { drain(1) }
	:: SBA(2, 0) == (a) -> d_step { drain_oldest(2) }
	:: SBA(2, 1) == (a) -> d_step { drain(2) }
	:: SBA(3, 0) == (a) -> d_step { drain_oldest(3) }
	:: SBA(3, 1) == (a) -> d_step { drain(3) }
	:: SBA(4, 0) == (a) -> d_step { drain_oldest(4) }
	:: SBA(4, 1) == (a) -> d_step { drain(4) }
	fi
}

/* out = slot_seq[s] as loaded by p (inside an atomic step). */
inline load_seq(p, s, out)
{
	if
	:: SBA(p, 1) == A_SEQ(s) -> out = SBV(p, 1)
	:: SBA(p, 1) != A_SEQ(s) && SBA(p, 0) == A_SEQ(s) -> out = SBV(p, 0)
	:: else -> maybe_drain_writer_of(A_SEQ(s)); out = slot_seq[s]
	fi
}

/* hx_barrier_heavy() by @me (inside an atomic step). */
inline barrier_heavy(me)
{
#if defined(BROKEN_NO_HEAVY_BARRIER)
	skip
#else
	d_step {
		hx_i = 0;
		do
#if defined(BROKEN_HEAVY_NOT_SELF)
		:: hx_i < NPROC && hx_i != me -> drain(hx_i); hx_i++
		:: hx_i < NPROC && hx_i == me -> hx_i++
#else
		:: hx_i < NPROC -> drain(hx_i); hx_i++
#endif
		:: else -> break
		od;
		hx_i = 0
	}
#endif
}

/* ---- counterexamples: spin -t prints these lines ("MSC: ...") when it replays a trail ----------- */

inline who(me)
{
	if
	:: me == CONS -> printf("consumer")
	:: me == CLOSER -> printf("closer")
	:: else -> printf("producer %d", me)
	fi
}

#define WORD(w) if :: w == DATA -> printf("data_event") :: else -> printf("space_event") fi
#define MESSAGE(m) printf("message p%d.%d", ((m) - 1) / NMSG, ((m) - 1) % NMSG + 1)

/* ---- futex ------------------------------------------------------------------------------------ */

#define W_SLEEPING 0
#define W_AGAIN    1          /* the word was no longer e */
#define W_WOKEN    2          /* a wake chose it (or it woke spuriously) */
#define W_TIMEDOUT 3

/* e = load(event[w]) by me */
#define LOAD_EVENT(w, me) current[w] = current[w] | (1 << (me))
#define FORGET_EVENT(w, me) current[w] = current[w] & ~(1 << (me))

/*
 * hx_futex_wait(&event[w], e, deadline) in two parts. futex_wait: compare and enqueue, one step,
 * leaving r = W_AGAIN or W_SLEEPING. futex_return: the return, written at the start of the
 * caller's next atomic step: when sleeping, it waits until a wake has dequeued the process
 * (SPURIOUS: or leaves on its own; DEADLINE: producer 0 may time out, dequeueing itself so that
 * a later wake picks someone else). A return only reads a queue bit that nobody but the process
 * sets again, so joining it to the next step hides no interleaving.
 */
inline futex_wait(me, w, r)
{
	d_step {
		drain(me);
		printf("MSC: "); who(me); printf(" futex_wait("); WORD(w);
		if
		:: (current[w] & (1 << me)) == 0 -> r = W_AGAIN; printf(", e): the word moved, returns\n")
		:: else -> queue[w] = queue[w] | (1 << me); r = W_SLEEPING; printf(", e): sleeps\n")
		fi;
		FORGET_EVENT(w, me)
	}
}

inline futex_return(me, w, r)
{
	if
	:: r != W_SLEEPING -> skip
	:: r == W_SLEEPING && (queue[w] & (1 << me)) == 0 ->
		r = W_WOKEN; printf("MSC: "); who(me); printf(" wakes up\n")
#ifdef SPURIOUS
	:: r == W_SLEEPING && (queue[w] & (1 << me)) != 0 ->
		queue[w] = queue[w] & ~(1 << me); r = W_WOKEN;
		printf("MSC: "); who(me); printf(" wakes up spuriously\n")
#endif
#ifdef DEADLINE
	:: me == 0 && r == W_SLEEPING && (queue[w] & (1 << me)) != 0 ->
		queue[w] = queue[w] & ~(1 << me); r = W_TIMEDOUT;
		printf("MSC: "); who(me); printf(" times out\n")
#endif
	fi
}

/* hx_futex_wake(&event[w], 1): any one sleeper (inside an atomic step). */
inline wake_one(w)
{
	if
	:: queue[w] & 1 -> queue[w] = queue[w] & ~1
	:: queue[w] & 2 -> queue[w] = queue[w] & ~2
	:: queue[w] & 4 -> queue[w] = queue[w] & ~4
	:: queue[w] & 8 -> queue[w] = queue[w] & ~8
	:: queue[w] & 16 -> queue[w] = queue[w] & ~16
	:: queue[w] == 0 -> skip
	fi
}

/* hx_futex_wake(&event[w], n) for n of 1 or 2 */
inline futex_wake(me, w, n)
{
	atomic {
		d_step {
			drain(me);
			printf("MSC: "); who(me); printf(" futex_wake("); WORD(w);
			printf(", %d), sleepers (bit per process): %d\n", n, queue[w])
		};
		wake_one(w);
		if
		:: n > 1 -> wake_one(w)
		:: else -> skip
		fi
	}
}

/* hx_futex_wake(&event[w], HX_WAKE_ALL): every sleeper on the word */
inline futex_wake_all(me, w)
{
	d_step {
		drain(me);
		printf("MSC: "); who(me); printf(" futex_wake("); WORD(w);
		printf(", all), sleepers (bit per process): %d\n", queue[w]);
		queue[w] = 0
	}
}

/*
 * The wake relay (channel.c, notify_space and claim_slow). The consumer, having cleared
 * senders_waiting and bumped space_event, stores wake_relay = 1 and wakes one sleeper; every sender
 * back from futex_wait on space_event (woken, timed out, or the word had moved) first loads
 * wake_relay and, when set, exchanges it to 0 and wakes every sleeper. take_relay is the load and
 * the exchange as one step (inside the atomic step of the return: the futex call has just drained
 * the sender's buffer, and a load of 0 makes no exchange). WAKE_ALL: the protocol before the relay,
 * the consumer wakes every sleeper itself and nobody relays.
 */
inline take_relay(me, r)
{
#ifdef WAKE_ALL
	r = 0
#else
	r = wake_relay;
	if
	:: r -> wake_relay = 0; printf("MSC: producer %d takes the wake relay\n", me)
	:: else -> skip
	fi
#endif
}

inline relay_wake(me, r)
{
	if
	:: r -> futex_wake_all(me, SPACE); r = 0
	:: else -> skip
	fi
}

/* ---- ghost state for the properties ----------------------------------------------------------- */

#define M_NONE     0
#define M_CLAIMED  1          /* its CAS succeeded: accepted */
#define M_RECEIVED 2
#define M_FAILED   3          /* its send returned an error */

byte msg_state[TOTAL + 1];
byte claim_pos[TOTAL + 1];    /* its position, while accepted and not yet received */
byte finished;                /* producers and consumer that returned */
byte producers_finished;

/*
 * hx_chan_close(): fetch_or(tail, CLOSED); store(closed, 1, release); bump both events and wake
 * everyone. The bumps and wakes are one step: after the CLOSED bit, a sleeper that loads an event
 * after its bump re-checks and sees the close (the release store is drained by the first bump),
 * and one that loaded it before either fails futex_wait's compare or is queued and woken, in any
 * order of the four operations.
 */
inline close_channel(me)
{
	d_step { drain(me); tail = tail | CLOSED; printf("MSC: "); who(me); printf(" closes: CLOSED set\n") };
	store(me, A_CLOSED, 1);
	d_step {
		drain(me);
		current[DATA] = 0;
		current[SPACE] = 0;
		queue[DATA] = 0;
		queue[SPACE] = 0;
		printf("MSC: "); who(me); printf(" closes: events bumped, everyone woken\n")
	}
}

/* ---- send ------------------------------------------------------------------------------------- */

#define C_CLAIMED 1
#define C_FULL    2
#define C_CLOSED  3

/*
 * try_claim(): load(tail); CLOSED -> C_CLOSED; load(slot(pos).seq): free -> CAS -> C_CLAIMED;
 * older -> C_FULL; newer (another producer took pos) -> reload tail. By default one step: a claim
 * whose loads went stale in between fails its CAS or re-reads, and neither changes anything another
 * process can see, so merging removes only retries (FINE_CLAIM: three steps, checked too).
 */
inline claim_once(me, m, pos, seq, outcome)
{
	pos = tail;
	if
	:: pos & CLOSED -> outcome = C_CLOSED
	:: else ->
		load_seq(me, pos % CAP, seq);
		d_step {
			assert(seq <= FREE(pos));   /* no slot runs ahead of tail */
			if
			:: seq == FREE(pos) ->
				drain(me);          /* CAS: a locked instruction */
				tail = pos + 1;
				assert(msg_state[m] == M_NONE);
				msg_state[m] = M_CLAIMED;
				claim_pos[m] = pos;
				outcome = C_CLAIMED;
				printf("MSC: producer %d claims position %d for ", me, pos); MESSAGE(m); printf("\n")
			:: else -> outcome = C_FULL; printf("MSC: producer %d finds the channel full\n", me)
			fi;
			seq = 0
		}
	fi
}

#ifdef FINE_CLAIM
inline try_claim(me, m, pos, seq, outcome)
{
	pos = tail;
	do
	:: pos & CLOSED -> outcome = C_CLOSED; break
	:: else ->
		atomic { load_seq(me, pos % CAP, seq) };
		if
		:: seq == FREE(pos) ->
			/* CAS_weak(tail, pos -> pos + 1); a failure returns the current tail in pos */
			atomic {
				drain(me);
				if
				:: tail == pos ->
					tail = pos + 1;
					assert(msg_state[m] == M_NONE);
					msg_state[m] = M_CLAIMED;
					claim_pos[m] = pos;
					outcome = C_CLAIMED;
					printf("MSC: producer %d claims position %d for ", me, pos); MESSAGE(m); printf("\n")
				:: else -> pos = tail; outcome = 0
				fi;
				seq = 0
			};
			if
			:: outcome == C_CLAIMED -> break
			:: else -> skip
			fi
		:: seq > FREE(pos) -> seq = 0; pos = tail     /* another producer took pos */
		:: seq < FREE(pos) -> seq = 0; outcome = C_FULL; break
		fi
	od;
	skip
}
#else
inline try_claim(me, m, pos, seq, outcome)
{
	atomic { claim_once(me, m, pos, seq, outcome) }
}
#endif

proctype producer(byte me)
{
	byte n = 1;               /* message number */
	byte m, pos, seq, r, outcome;
	bit nowait, late;         /* late: the deadline has passed (DEADLINE, producer 0) */
	bit announced;            /* JOIN_ANNOUNCEMENT: the flag was set already, no store, no barrier */

	do
	:: n > NMSG -> break
	:: else ->
		m = me * NMSG + n;
#ifdef NOWAIT
		if
		:: nowait = 1
		:: nowait = 0
		fi;
#endif
		try_claim(me, m, pos, seq, outcome);
		if
		:: outcome == C_FULL && nowait -> goto failed
		:: outcome == C_FULL && !nowait ->
			/* claim_slow() (the spinning is left out: the sleep path re-tries anyway) */
			do
			:: true ->
#ifdef DEADLINE
				if
				:: me == 0 && !late -> late = 1   /* the deadline passes here */
				:: true -> skip
				fi;
				if
				:: late -> outcome = 0; goto failed
				:: else -> skip
				fi;
#endif
				/*
				 * e = load(space_event); store(senders_waiting, 1); seq_cst fence (channel.c;
				 * HEAVY_SENDER: heavy barrier); re-try. With HEAVY_SENDER the plain store
				 * waits in the buffer until the barrier or a load by the consumer drains it;
				 * an exchange (locked) would drain it at once, which TSO allows the store
				 * too: its runs are among these. Nothing here clears the flag: the consumer
				 * does, when it wakes all sleepers.
				 */
#ifndef BROKEN_NO_EVENTCOUNT
				LOAD_EVENT(SPACE, me);
#endif
#ifdef JOIN_ANNOUNCEMENT
				/*
				 * load(senders_waiting): set already (another sender's announcement, which
				 * that sender follows with its own heavy barrier and re-try, or one that
				 * reached memory long ago) -> no store and no heavy barrier of our own: re-try
				 * and sleep on e. Forwarded from our own buffer, or from memory after maybe
				 * draining the store of the sender that set it. Not channel.c's protocol:
				 * correct (checked), but slower there (docs/channel.md).
				 */
				atomic {
					if
					:: SBA(me, 1) == A_SENDERS -> r = SBV(me, 1)
					:: SBA(me, 1) != A_SENDERS && SBA(me, 0) == A_SENDERS -> r = SBV(me, 0)
					:: else -> maybe_drain_writer_of(A_SENDERS); r = senders_waiting
					fi;
					printf("MSC: producer %d: loads senders_waiting = %d\n", me, r)
				};
				announced = r;
				r = 0;
#endif
#ifdef HEAVY_SENDER
				if
				:: !announced -> d_step { buffer_store(me, A_SENDERS, 1); printf("MSC: producer %d: senders_waiting = 1 (buffered), heavy barrier, re-try\n", me) }
				:: else -> skip
				fi;
#ifdef FINE_CLAIM
				if
				:: !announced -> atomic { barrier_heavy(me) }
				:: else -> skip
				fi;
				announced = 0;
				try_claim(me, m, pos, seq, outcome);
				if
				:: outcome != C_FULL -> FORGET_EVENT(SPACE, me)   /* e is dead */
				:: else -> skip
				fi;
#else
				atomic {
					if
					:: !announced -> barrier_heavy(me)
					:: else -> skip
					fi;
					announced = 0;
					claim_once(me, m, pos, seq, outcome);
					if
					:: outcome != C_FULL -> FORGET_EVENT(SPACE, me)   /* e is dead */
					:: else -> skip
					fi
				};
#endif
#else
				/*
				 * store(senders_waiting, 1); seq_cst fence: one step, the fence draining the
				 * buffer with the flag store last (nobody can see the store before the fence
				 * but the sender, which does not read it). Then the re-try, a step of its own:
				 * other processes may run between the fence and its loads.
				 */
				d_step {
					drain(me);
					senders_waiting = 1;
					printf("MSC: producer %d: senders_waiting = 1, fence, re-try\n", me)
				};
				try_claim(me, m, pos, seq, outcome);
				if
				:: outcome != C_FULL -> FORGET_EVENT(SPACE, me)   /* e is dead */
				:: else -> skip
				fi;
#endif
				if
				:: outcome == C_FULL ->
#ifdef BROKEN_NO_EVENTCOUNT
					LOAD_EVENT(SPACE, me);
#endif
					futex_wait(me, SPACE, r);
#if defined(DEADLINE_FIRST)
					atomic {
						futex_return(me, SPACE, r);
						if
						:: r == W_TIMEDOUT -> late = 1
						:: me == 0 && r == W_WOKEN -> late = 1  /* woken, but past the deadline too */
						:: true -> skip
						fi;
						r = 0;
						take_relay(me, r)
					};
					relay_wake(me, r);
					if
					:: late -> outcome = 0; goto failed
					:: else -> skip
					fi;
					try_claim(me, m, pos, seq, outcome)
#elif defined(FINE_CLAIM)
					atomic {
						futex_return(me, SPACE, r);
						if
						:: r == W_TIMEDOUT -> late = 1
						:: else -> skip
						fi;
						r = 0;
						take_relay(me, r)
					};
					relay_wake(me, r);
					try_claim(me, m, pos, seq, outcome)
#else
					/* the loop's deadline check comes after this claim: a timeout just sets late.
					 * Without the relay the claim joins the return's step; a sender that took
					 * it wakes everyone first, a step of its own, and then claims. */
					atomic {
						futex_return(me, SPACE, r);
						if
						:: r == W_TIMEDOUT -> late = 1
						:: else -> skip
						fi;
						r = 0;
						take_relay(me, r);
						if
						:: !r -> claim_once(me, m, pos, seq, outcome)
						:: else -> skip
						fi
					};
					if
					:: r -> relay_wake(me, r); try_claim(me, m, pos, seq, outcome)
					:: else -> skip
					fi
#endif
				:: else -> skip
				fi;
				/* e is dead (forgotten above or by futex_wait); a sender still full goes
				 * round, loads the event again and sets the flag again */
#ifdef BROKEN_SENDER_CLEARS
				d_step { buffer_store(me, A_SENDERS, 0); printf("MSC: producer %d: senders_waiting = 0 (buffered)\n", me) };
#endif
				if
				:: outcome != C_FULL -> break
				:: else -> skip
				fi
			od
		:: else -> skip
		fi;
		if
		:: outcome == C_CLOSED -> goto failed
		:: else -> skip
		fi;
		/* publish(): copy the message in, store(seq, 2pos + 1, release) */
		d_step {
			slot_msg[pos % CAP] = m;    /* nobody reads it before the seq store below */
			buffer_store(me, A_SEQ(pos % CAP), PUBLISHED(pos));
			printf("MSC: producer %d publishes position %d (the store is buffered)\n", me, pos);
			pos = 0; outcome = 0; late = 0
		}
		/* hx_barrier_light(): nothing at run time; this load may pass the store above */
		atomic {
			maybe_drain_writer_of(A_WAITING);
			r = consumer_waiting;
			printf("MSC: producer %d loads consumer_waiting = %d\n", me, r)
		};
		if
		:: r ->
			/* wake_consumer(): exchange, then bump data_event and wake */
			atomic {
				d_step { drain(me) };
				maybe_drain_writer_of(A_WAITING);
				d_step { r = consumer_waiting; consumer_waiting = 0 }
			};
			if
			:: r ->
				d_step { drain(me); current[DATA] = 0 };
				futex_wake(me, DATA, 1);
				r = 0
			:: else -> skip
			fi
		:: else -> skip
		fi;
		goto next;
failed:
		skip;
		/* -EPIPE (closed), -EAGAIN (NOWAIT, full), -ETIMEDOUT (DEADLINE, full) */
		d_step {
			assert(msg_state[m] == M_NONE);
			msg_state[m] = M_FAILED;
			printf("MSC: producer %d: the send of ", me); MESSAGE(m); printf(" fails\n");
			pos = 0; outcome = 0; late = 0
		};
next:
		skip;
		d_step { m = 0; nowait = 0; n++ }
	od;
	skip;
	d_step { producers_finished++; finished++ }
}

/* ---- receive (one consumer) ------------------------------------------------------------------- */

#define T_MESSAGE 1
#define T_EMPTY   2
#define T_DRAINED 3           /* empty, closed, every accepted position received: -EPIPE */

/*
 * take_ready() and, when it took nothing, empty_status(), as one step: load(slot(head).seq);
 * while published (up to @max): copy out, store(seq, 2(head + C), release) into the buffer,
 * head++. Else load(closed), load(tail): drained when tail == CLOSED|head. One step, because a
 * published slot stays published until the consumer frees it, closed stays set and a drained
 * channel stays drained: the split loads have the same outcomes as this look at one moment.
 */
inline look(head, taken, outcome, max, r)
{
	taken = 0;
	do
	:: taken < max ->
		load_seq(CONS, head % CAP, r);
		if
		:: r == PUBLISHED(head) ->
			d_step {
				r = slot_msg[head % CAP];
				slot_msg[head % CAP] = 0;
				assert(r >= 1 && r <= TOTAL);
				assert(msg_state[r] == M_CLAIMED);      /* accepted, not received before */
				assert(claim_pos[r] == head);           /* the message of this position */
				/* Per-producer FIFO: the producer's previous message was received or failed. */
				assert((r - 1) % NMSG == 0 ||
				       msg_state[r - 1] == M_RECEIVED || msg_state[r - 1] == M_FAILED);
				msg_state[r] = M_RECEIVED;
				claim_pos[r] = 0;
				printf("MSC: consumer takes "); MESSAGE(r); printf(" at position %d, frees the slot (buffered)\n", head);
				buffer_store(CONS, A_SEQ(head % CAP), FREED(head));   /* free */
				head++;
				taken++
			}
		:: else -> break
		fi
	:: else -> break
	od;
	r = 0;
	if
	:: taken > 0 -> outcome = T_MESSAGE
	:: else ->
		if
		:: SBA(CONS, 1) == A_CLOSED || SBA(CONS, 0) == A_CLOSED -> r = 1
		:: else -> maybe_drain_writer_of(A_CLOSED); r = closed
		fi;
		d_step {
			if
			:: r && tail == (CLOSED | head) -> outcome = T_DRAINED
			:: else -> outcome = T_EMPTY
			fi;
			r = 0
		}
	fi
}

/*
 * notify_space's watermark, one step: r = 0 (return without waking) when hx_chan_len() > WAKE_LEN.
 * hx_chan_len() is (tail without CLOSED) - head, clamped to [0, CAP]. head is the consumer's own
 * position, already past what it just took (its store of head is forwarded to its own load: the
 * local copy). tail is loaded relaxed, and since it changes only by locked instructions (CAS,
 * fetch_or) it is never in a store buffer: the load reads memory, after the flag load (in the
 * same step by default, see notify_space in the consumer). channel.c loads tail before head;
 * only the consumer writes head, so that order does not matter here. A claim between the
 * consumer's free and this load counts: the length can be back at CAP.
 */
inline below_watermark(head, queued, r)
{
	d_step {
		queued = tail & (CLOSED - 1);
		if
		:: queued <= head -> queued = 0
		:: else -> queued = queued - head
		fi;
		if
		:: queued > CAP -> queued = CAP
		:: else -> skip
		fi;
		if
		:: queued > WAKE_LEN ->
			r = 0;
			printf("MSC: consumer: hx_chan_len = %d > wake_len %d, returns without waking\n", queued, WAKE_LEN)
		:: else ->
			printf("MSC: consumer: hx_chan_len = %d <= wake_len %d\n", queued, WAKE_LEN)
		fi;
		queued = 0
	}
}

proctype consumer()
{
	byte head, taken, r, outcome;
	byte queued;              /* hx_chan_len() in notify_space; 0 outside that step */
#ifndef HEAVY_SENDER
	byte unfenced;            /* slots freed since the consumer's last fence */
#endif
#ifdef CONSUMER_STOPS
	bit stopped;
#endif
#ifdef CONSUMER_CLOSES
	bit closed_it;
#endif

	do
	:: head == TOTAL -> break     /* everything received (possible only when no send failed) */
	:: else ->
		atomic { look(head, taken, outcome, MAXTAKE, r) };
		/* take_slow() (the spinning is left out: the sleep path re-checks anyway) */
		do
		:: outcome != T_EMPTY -> break
		:: else ->
			/* e = load(data_event); store(consumer_waiting, 1); fence; the tail check:
			 * the heavy barrier only when a position past head is claimed; re-check */
#ifndef BROKEN_NO_EVENTCOUNT
			LOAD_EVENT(DATA, CONS);
#endif
			store(CONS, A_WAITING, 1);
			/* full_fence() drains our buffer; tail is written by locked instructions
			 * only, so memory holds its value. HEAVY_ALWAYS: the protocol before the
			 * tail check, no fence and the heavy barrier on every sleep. */
			d_step {
#if !defined(BROKEN_TAIL_CHECK_NO_FENCE) && !defined(HEAVY_ALWAYS)
				drain(CONS);
#endif
#ifdef HEAVY_ALWAYS
				r = 1;
#else
				r = ((tail & (CLOSED - 1)) != head);   /* claimed past head; r is 0 here */
#endif
#if defined(HEAVY_ALWAYS)
				printf("MSC: consumer: consumer_waiting = 1 (buffered)\n")
#elif defined(BROKEN_TAIL_CHECK_NO_FENCE)
				printf("MSC: consumer: consumer_waiting = 1 (buffered), no fence, tail check: claimed past head = %d\n", r)
#else
				printf("MSC: consumer: consumer_waiting = 1, fence, tail check: claimed past head = %d\n", r)
#endif
			};
			atomic {
				if
				:: r -> barrier_heavy(CONS); printf("MSC: consumer: heavy barrier\n")
				:: else -> skip
				fi;
				r = 0;
				look(head, taken, outcome, MAXTAKE, r);
				printf("MSC: consumer: re-check: ");
				if
				:: outcome == T_EMPTY -> printf("empty\n")
				:: outcome == T_MESSAGE -> printf("took a message\n")
				:: outcome == T_DRAINED -> printf("closed and drained\n")
				fi;
				if
				:: outcome != T_EMPTY -> FORGET_EVENT(DATA, CONS)   /* e is dead */
				:: else -> skip
				fi
			};
			if
			:: outcome == T_EMPTY ->
#ifdef BROKEN_NO_EVENTCOUNT
				LOAD_EVENT(DATA, CONS);
#endif
				futex_wait(CONS, DATA, r);
				atomic {
					futex_return(CONS, DATA, r);
					r = 0;
					look(head, taken, outcome, MAXTAKE, r)
				}
			:: else -> skip
			fi;
			store(CONS, A_WAITING, 0)
		od;
		if
		:: outcome == T_DRAINED -> break
		:: else -> skip
		fi;
		/*
		 * notify_space(): hx_barrier_light(); this load may pass the free stores. If set and
		 * hx_chan_len() <= wake_len: exchange(senders_waiting, 0); if that was set, bump
		 * space_event and wake all. Above the watermark it returns and the flag stays set
		 * for a later receive (BROKEN_WAKE_LEN_AFTER_CLEAR: exchanges first, then returns).
		 *
		 * The flag load and the tail load are one step by default (FINE_WATERMARK: two, as
		 * the code has them; checked too). Joining them hides no outcome: the consumer does
		 * nothing in between, and once the flag load has read 1 nobody else can make the
		 * flag 0 before the tail load (only this consumer clears it; a sender's store of 0
		 * exists only in BROKEN_SENDER_CLEARS), so a flag load moved to the moment of the
		 * tail load reads 1 as well. All the split flag load changes is, by its optional
		 * drain, a sender's buffer up to its flag store; another process that reads one of
		 * those stores in between can drain it itself (maybe_drain_writer_of), and the joined
		 * step drains what is left. So every split run has a joined one with the same loads,
		 * results and state from the tail load on. A flag load that reads 0 ends here.
		 */
#ifndef HEAVY_SENDER
		/* Once FENCE_EVERY slots were freed since the last fence: a seq_cst fence (our
		 * buffer drains), a step of its own before the flag load. */
		d_step {
			if
			:: unfenced + taken >= FENCE_EVERY ->
				drain(CONS);
				unfenced = 0;
				printf("MSC: consumer fences\n")
			:: else -> unfenced = unfenced + taken
			fi
		};
#endif
		atomic {
			maybe_drain_writer_of(A_SENDERS);
			r = senders_waiting;
			printf("MSC: consumer loads senders_waiting = %d\n", r);
#if !defined(FINE_WATERMARK) && !defined(BROKEN_WAKE_LEN_AFTER_CLEAR)
			if
			:: r -> below_watermark(head, queued, r)
			:: else -> skip
			fi
#endif
		};
#if defined(FINE_WATERMARK) && !defined(BROKEN_WAKE_LEN_AFTER_CLEAR)
		if
		:: r -> below_watermark(head, queued, r)
		:: else -> skip
		fi;
#endif
		if
		:: r ->
			atomic {
				d_step { drain(CONS) };
				maybe_drain_writer_of(A_SENDERS);
				d_step {
					r = senders_waiting;
					senders_waiting = 0;
					printf("MSC: consumer exchanges senders_waiting to 0, was %d\n", r)
				}
			};
#ifdef BROKEN_WAKE_LEN_AFTER_CLEAR
			if
			:: r -> below_watermark(head, queued, r)
			:: else -> skip
			fi;
#endif
			if
			:: r ->
				d_step { drain(CONS); current[SPACE] = 0 };
#if defined(WAKE_ALL)
				futex_wake_all(CONS, SPACE)
#else
				/*
				 * store(wake_relay, 1), then futex_wake(space_event, 1). The store is
				 * plain and the call drains it: modelled as a step that writes memory
				 * before the wake's step, so other processes may read it in between or
				 * not (either is a TSO run). BROKEN_WAKE_ONE: no relay.
				 */
#ifndef BROKEN_WAKE_ONE
				d_step { wake_relay = 1; printf("MSC: consumer sets the wake relay\n") };
#endif
				futex_wake(CONS, SPACE, 1)
#endif
			:: else -> skip
			fi
		:: else -> skip
		fi;
		r = 0; taken = 0; outcome = 0;
#ifdef CONSUMER_STOPS
		/*
		 * The consumer stops receiving here (once, if it so chooses) and waits until nobody
		 * else can move: every producer has returned or sleeps. A sender asleep for space must
		 * then sleep next to more than WAKE_LEN claimed messages: the consumer woke the
		 * sleepers when it drained the channel to the watermark. Then it closes (waking the
		 * sleepers, whose sends fail) and receives the rest as usual.
		 */
		if
		:: !stopped ->
			stopped = 1;
			printf("MSC: consumer stops receiving\n");
			timeout;
			d_step {
				printf("MSC: consumer: nobody can move; sleepers on space_event %d, claimed and not received %d\n",
				       queue[SPACE], (tail & (CLOSED - 1)) - head);
				assert(queue[SPACE] == 0 || (tail & (CLOSED - 1)) - head > WAKE_LEN)
			};
			close_channel(CONS)
		:: true -> skip
		fi;
#endif
#ifdef CONSUMER_CLOSES
		if
		:: !closed_it -> closed_it = 1; close_channel(CONS)
		:: true -> skip
		fi
#endif
	od;
	if
	:: outcome == T_DRAINED ->
		/* -EPIPE: closed and drained, so everything accepted has been received */
		d_step {
			printf("MSC: consumer gets -EPIPE\n");
			hx_i = 1;
			do
			:: hx_i <= TOTAL -> assert(msg_state[hx_i] != M_CLAIMED); hx_i++
			:: else -> break
			od;
			hx_i = 0
		}
	:: else -> skip
	fi;
	d_step { outcome = 0; finished++ }
}

/*
 * Closes at a nondeterministic moment, or never (or, when sends may fail and the consumer cannot
 * count, after the last send returned). The choice is made first: a closer that could still close
 * at any time would rescue every stuck run, hiding lost wakeups.
 */
proctype closer()
{
	bit early;

	if
	:: early = 1
#ifdef SENDS_MAY_FAIL
	:: early = 0
#else
	:: goto done
#endif
	fi;
	if
	:: early -> skip
	:: !early -> producers_finished == NPROD
	fi;
	close_channel(CLOSER);
done:
	skip
}

init
{
	atomic {
		hx_i = 0;
		do
		:: hx_i < CAP -> slot_seq[hx_i] = INITIAL(hx_i); hx_i++
		:: else -> break
		od;
		hx_i = 0;
		do
		:: hx_i < NPROD -> run producer(hx_i); hx_i++
		:: else -> break
		od;
		hx_i = 0;
		run consumer();
#if !defined(NO_CLOSE) && !defined(CONSUMER_CLOSES) && !defined(CONSUMER_STOPS)
		run closer()
#endif
	}
	/* Everyone returned: every message was received exactly once or its send failed. */
	finished == NPROD + 1;
	d_step {
		hx_i = 1;
		do
		:: hx_i <= TOTAL ->
			assert(msg_state[hx_i] == M_RECEIVED || msg_state[hx_i] == M_FAILED);
			hx_i++
		:: else -> break
		od;
		hx_i = 0
	}
}
