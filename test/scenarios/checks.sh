# Checks shared by the scenario suites (run-scenarios.sh, fault-matrix.sh).
# Source it; CASE names what is being checked, for the failure lines.

PASSED=0
FAILED=0
CASE=""

# one line, at most 400 characters, for a failure message
oneline()
{
	tr '\n' ' ' <<<"$1" | sed 's/ *$//' | cut -c1-400
}

pass()
{
	PASSED=$((PASSED + 1))
}

fail()
{
	FAILED=$((FAILED + 1))
	echo "FAILED: $CASE: $(oneline "$1")"
}

# check WHAT EXPECTED ACTUAL
check()
{
	if [ "$2" = "$3" ]; then
		pass
	else
		fail "$1: expected \"$2\", got \"$3\""
	fi
}
