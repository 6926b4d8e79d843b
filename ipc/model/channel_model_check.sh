#!/usr/bin/env bash
# channel_model_check.sh MODEL.pml: model-checks the channel protocol (channel.pml) with spin.
#
# For each configuration: spin -a with its -D switches, gcc on pan.c (-DSAFETY: assertions and
# invalid end states, which is all the model claims; -DCOLLAPSE: exhaustive, compressed states),
# ./pan -m DEPTH, then the verdict from pan's report. The correct model must report "errors: 0",
# no invalid end state and a complete search ("search depth too small" or running out of memory
# fails the check); each broken variant must fail, with the kind of error it is built to show, and
# its counterexample is printed (the MSC lines of spin's replay) and kept step by step
# (spin -t -p -g -l) in the undeclared outputs as NAME.trail.txt.
#
# Environment: HX_MODEL_JOBS (default 2) configurations at a time; HX_MODEL_ONLY=regex to run some.
set -uo pipefail

model=${1:?usage: channel_model_check.sh MODEL.pml}
model=$(cd "$(dirname "$model")" && pwd)/$(basename "$model")
jobs=${HX_MODEL_JOBS:-2}
only=${HX_MODEL_ONLY:-.}
depth=100000
work=${TEST_TMPDIR:-$(mktemp -d)}/channel_model
keep=${TEST_UNDECLARED_OUTPUTS_DIR:-$work}

for tool in spin gcc; do
	if ! command -v "$tool" >/dev/null; then
		echo "model_check: FAIL: '$tool' not found (Debian: apt-get install -y spin gcc)"
		exit 1
	fi
done

# name | expected verdict: pass, or the error a broken variant must produce | spin -D switches |
# pan's options (default -w26: 2^26 hash slots; -i: shortest counterexample, needs -DREACH) |
# extra gcc -D options. The big configuration comes first so that it overlaps the rest.
configs=(
	"p3_c2_m2_no_close|pass|-DNPROD=3 -DCAP=2 -DNMSG=2 -DNO_CLOSE|-w27"
	"p2_c2_m2|pass|-DNPROD=2 -DCAP=2 -DNMSG=2"
	"p2_c1_m2|pass|-DNPROD=2 -DCAP=1 -DNMSG=2"
	"p3_c2_m1|pass|-DNPROD=3 -DCAP=2 -DNMSG=1"
	"p3_c1_m1|pass|-DNPROD=3 -DCAP=1 -DNMSG=1"
	"p2_c2_m2_fine_claim|pass|-DNPROD=2 -DCAP=2 -DNMSG=2 -DFINE_CLAIM"
	"p2_c2_m2_recv_many|pass|-DNPROD=2 -DCAP=2 -DNMSG=2 -DRECV_MANY"
	"p2_c2_m2_consumer_closes|pass|-DNPROD=2 -DCAP=2 -DNMSG=2 -DCONSUMER_CLOSES"
	"p2_c2_m2_nowait|pass|-DNPROD=2 -DCAP=2 -DNMSG=2 -DNOWAIT"
	"p2_c1_m2_deadline|pass|-DNPROD=2 -DCAP=1 -DNMSG=2 -DDEADLINE"
	"p2_c2_m2_spurious|pass|-DNPROD=2 -DCAP=2 -DNMSG=2 -DSPURIOUS"
	"p2_c2_m2_seq_vyukov|pass|-DNPROD=2 -DCAP=2 -DNMSG=2 -DSEQ_VYUKOV"
	"p2_c1_m2_deadline_first|pass|-DNPROD=2 -DCAP=1 -DNMSG=2 -DDEADLINE -DDEADLINE_FIRST"
	"p2_c2_m2_wake0|pass|-DNPROD=2 -DCAP=2 -DNMSG=2 -DWAKE_LEN=0"
	"p3_c2_m1_wake0|pass|-DNPROD=3 -DCAP=2 -DNMSG=1 -DWAKE_LEN=0"
	"p2_c2_m2_fine_watermark|pass|-DNPROD=2 -DCAP=2 -DNMSG=2 -DFINE_WATERMARK"
	"p3_c2_m1_fine_watermark|pass|-DNPROD=3 -DCAP=2 -DNMSG=1 -DFINE_WATERMARK"
	"p2_c2_m2_stops|pass|-DNPROD=2 -DCAP=2 -DNMSG=2 -DCONSUMER_STOPS"
	"p2_c1_m2_stops|pass|-DNPROD=2 -DCAP=1 -DNMSG=2 -DCONSUMER_STOPS"
	"p3_c2_m1_stops|pass|-DNPROD=3 -DCAP=2 -DNMSG=1 -DCONSUMER_STOPS"
	"p2_c2_m2_stops_wake0|pass|-DNPROD=2 -DCAP=2 -DNMSG=2 -DCONSUMER_STOPS -DWAKE_LEN=0"
	"p2_c2_m2_stops_recv_many|pass|-DNPROD=2 -DCAP=2 -DNMSG=2 -DCONSUMER_STOPS -DRECV_MANY"
	"p2_c2_m2_heavy|pass|-DNPROD=2 -DCAP=2 -DNMSG=2 -DHEAVY_SENDER"
	"p2_c2_m2_stops_heavy|pass|-DNPROD=2 -DCAP=2 -DNMSG=2 -DCONSUMER_STOPS -DHEAVY_SENDER"
	"p2_c2_m2_join|pass|-DNPROD=2 -DCAP=2 -DNMSG=2 -DHEAVY_SENDER -DJOIN_ANNOUNCEMENT"
	"p3_c2_m1_join|pass|-DNPROD=3 -DCAP=2 -DNMSG=1 -DHEAVY_SENDER -DJOIN_ANNOUNCEMENT"
	"p2_c1_m2_deadline_join|pass|-DNPROD=2 -DCAP=1 -DNMSG=2 -DDEADLINE -DHEAVY_SENDER -DJOIN_ANNOUNCEMENT"
	"p2_c1_m2_deadline_fine_claim|pass|-DNPROD=2 -DCAP=1 -DNMSG=2 -DDEADLINE -DFINE_CLAIM"
	"p3_c1_m1_deadline|pass|-DNPROD=3 -DCAP=1 -DNMSG=1 -DDEADLINE"
	"p3_c1_m1_spurious|pass|-DNPROD=3 -DCAP=1 -DNMSG=1 -DSPURIOUS"
	"p2_c2_m2_wake_all|pass|-DNPROD=2 -DCAP=2 -DNMSG=2 -DWAKE_ALL"
	"p3_c2_m1_stops_wake_all|pass|-DNPROD=3 -DCAP=2 -DNMSG=1 -DCONSUMER_STOPS -DWAKE_ALL"
	"p2_c2_m2_heavy_always|pass|-DNPROD=2 -DCAP=2 -DNMSG=2 -DHEAVY_ALWAYS"
	"broken_tail_check_no_fence|invalid end state|-DNPROD=2 -DCAP=2 -DNMSG=2 -DBROKEN_TAIL_CHECK_NO_FENCE"
	"broken_no_heavy_barrier|invalid end state|-DNPROD=2 -DCAP=2 -DNMSG=2 -DBROKEN_NO_HEAVY_BARRIER|-w26 -i|-DREACH"
	"broken_heavy_not_self|invalid end state|-DNPROD=2 -DCAP=2 -DNMSG=2 -DHEAVY_ALWAYS -DBROKEN_HEAVY_NOT_SELF|-w26 -i|-DREACH"
	"broken_no_eventcount|invalid end state|-DNPROD=2 -DCAP=2 -DNMSG=2 -DBROKEN_NO_EVENTCOUNT|-w26 -i|-DREACH"
	"broken_wake_one|invalid end state|-DNPROD=2 -DCAP=2 -DNMSG=2 -DBROKEN_WAKE_ONE|-w26 -i|-DREACH"
	"broken_sender_clears|invalid end state|-DNPROD=2 -DCAP=2 -DNMSG=2 -DBROKEN_SENDER_CLEARS"
	"broken_wake_len_after_clear|invalid end state|-DNPROD=2 -DCAP=2 -DNMSG=2 -DBROKEN_WAKE_LEN_AFTER_CLEAR|-w26 -i|-DREACH"
	"broken_consumer_never_fences|invalid end state|-DNPROD=2 -DCAP=1 -DNMSG=2 -DFENCE_EVERY=100|-w26 -i|-DREACH"
	"broken_fence_every_2|assertion violated|-DNPROD=2 -DCAP=2 -DNMSG=2 -DCONSUMER_STOPS -DFENCE_EVERY=2|-w26 -i|-DREACH"
	"broken_seq_vyukov_capacity_1|assertion violated|-DNPROD=2 -DCAP=1 -DNMSG=2 -DSEQ_VYUKOV|-w26 -i|-DREACH"
)

# Runs one configuration in its own directory; writes the verdict line to $dir/verdict and exits 0
# when the configuration behaved as expected.
run_config() {
	local name=$1 expect=$2 defines=$3 pan_options=${4:--w26} cc_options=${5:-}
	local dir=$work/$name
	local errors states depth_reached seconds found verdict status=0
	mkdir -p "$dir" && cd "$dir" || return 1
	cp "$model" channel.pml
	# shellcheck disable=SC2086 # the switches are words
	if ! spin -a $defines channel.pml >spin.log 2>&1; then
		echo "FAIL $name: spin -a $defines failed: $(tail -n 3 spin.log | tr '\n' ' ')" >verdict
		return 1
	fi
	# shellcheck disable=SC2086
	if ! gcc -O1 -w -DSAFETY -DCOLLAPSE -DMEMLIM=12000 $cc_options -o pan pan.c >gcc.log 2>&1; then
		echo "FAIL $name: gcc pan.c failed: $(tail -n 3 gcc.log | tr '\n' ' ')" >verdict
		return 1
	fi
	# shellcheck disable=SC2086
	./pan -m"$depth" $pan_options >pan.log 2>&1
	errors=$(sed -n -E 's/.*errors: ([0-9]+).*/\1/p' pan.log | tail -n 1)
	states=$(awk '/states, stored/ { print $1 }' pan.log | tail -n 1)
	depth_reached=$(sed -n -E 's/.*depth reached ([0-9]+).*/\1/p' pan.log | tail -n 1)
	seconds=$(sed -n -E 's/^pan: elapsed time ([0-9.e+]+) seconds.*/\1/p' pan.log | tail -n 1)
	found=$(sed -n -E 's/^pan:[0-9]+: (.*) \(at depth [0-9]+\)$/\1/p' pan.log | head -n 1)
	printf -v verdict '%-28s states %10s  depth %4s  time %6ss  %s' "$name" "${states:-?}" \
		"${depth_reached:-?}" "${seconds:-?}" "$defines"

	if [ -z "$errors" ] || [ -z "$states" ]; then
		echo "FAIL $verdict: pan did not finish: $(tail -n 3 pan.log | tr '\n' ' ')" >verdict
		return 1
	fi
	if grep -q -E 'depth too small|out of memory' pan.log; then
		echo "FAIL $verdict: incomplete search: $(grep -m 1 -E 'depth too small|out of memory' pan.log)" >verdict
		return 1
	fi
	if [ "$expect" = pass ]; then
		if [ "$errors" -eq 0 ] && ! grep -q -E '^pan:[0-9]+: |Search not completed' pan.log; then
			echo "ok   $verdict" >verdict
			return 0
		fi
		echo "FAIL $verdict: errors: $errors ($found); counterexample:" >verdict
		status=1
	else
		if [ "$errors" -gt 0 ] && [[ $found == "$expect"* ]]; then
			echo "ok   $verdict: fails as it must ($found)" >verdict
		else
			echo "FAIL $verdict: expected '$expect', got errors: $errors${found:+ ($found)}" >verdict
			return 1
		fi
	fi
	# The counterexample as a message sequence: spin replays the trail and prints the MSC lines.
	# shellcheck disable=SC2086
	spin -t $defines channel.pml >replay.log 2>&1
	# shellcheck disable=SC2086
	spin -t -p -g -l $defines channel.pml >replay_steps.log 2>&1
	sed -n -E 's/^ *MSC: +//p' replay.log |
		sed -E 's/ +/ /g; s/\( /(/g; s/ ([,)])/\1/g; s/ $//; s/^/    /' >counterexample.txt
	mkdir -p "$keep" && cp replay_steps.log "$keep/$name.trail.txt" 2>/dev/null
	cat counterexample.txt >>verdict
	return $status
}

mkdir -p "$work"
selected=()
for config in "${configs[@]}"; do
	[[ ${config%%|*} =~ $only ]] && selected+=("$config")
done

running=0
for config in "${selected[@]}"; do
	IFS='|' read -r name expect defines pan_options cc_options <<<"$config"
	(run_config "$name" "$expect" "$defines" "$pan_options" "$cc_options") &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

checks=0 failures=0
for config in "${selected[@]}"; do
	name=${config%%|*}
	checks=$((checks + 1))
	if [ -f "$work/$name/verdict" ]; then
		sed -e '1s/^/model: /' "$work/$name/verdict"
		head -n 1 "$work/$name/verdict" | grep -q '^ok ' || failures=$((failures + 1))
	else
		echo "model: FAIL $name: no verdict (the run crashed)"
		failures=$((failures + 1))
	fi
done

if [ "$checks" -eq 0 ]; then
	echo "model_check: no configuration matches HX_MODEL_ONLY='$only'"
	exit 1
fi
if [ "$failures" -gt 0 ]; then
	echo "model_check: $failures of $checks checks failed"
	exit 1
fi
echo "model_check: $checks checks passed"
