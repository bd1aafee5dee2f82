#!/usr/bin/env python3
"""CPU estimate from a dotnet-trace thread-time sample (speedscope JSON, --format Speedscope).

dotnet-sampled-thread-time samples every managed thread, idle or not; a thread blocked in a wait is not using the
CPU. This drops the time whose innermost frame is a wait and ranks what is left: where the busy threads are.
    profile.py trace.speedscope.json [top=30]
"""
import json, re, sys
from collections import defaultdict

WAIT = re.compile(r"Monitor\.Wait|WaitHandle\.Wait|LowLevelLifoSemaphore|WaitNative|SemaphoreSlim\.Wait|Thread\.Sleep|"
                  r"Sys\.Read\(|epoll|WaitForSignal|ManualResetEventSlim\.Wait|SpinThenBlockingWait|Interop\+Sys\.WaitForSocketEvents|"
                  r"Thread\.Join|Missing Symbol|PollGCWorker|Sys\.Poll|Interop\+Sys\.Select")

PSEUDO = {"CPU_TIME", "UNMANAGED_CODE_TIME"}
doc = json.load(open(sys.argv[1])); top = int(sys.argv[2]) if len(sys.argv) > 2 else 30
frames = [f["name"] for f in doc["shared"]["frames"]]
exclusive, inclusive = defaultdict(float), defaultdict(float)
busy = idle = 0.0
for profile in doc["profiles"]:
    stack, last = [], None
    for e in profile.get("events", []):
        if last is not None and stack and e["at"] > last:
            dt = e["at"] - last
            # dotnet-trace ends each sampled stack with a pseudo-frame, CPU_TIME (running managed code) or
            # UNMANAGED_CODE_TIME (in native code: a wait, a syscall, the GC); the method is the frame above it.
            names = [frames[f] for f in stack if frames[f] not in PSEUDO]
            native = frames[stack[-1]] == "UNMANAGED_CODE_TIME"
            leaf = (names[-1] if names else "?") + (" [native]" if native else "")
            if not names or (native and WAIT.search(names[-1])):
                idle += dt
            else:
                busy += dt
                exclusive[leaf] += dt
                for n in set(names):
                    inclusive[n] += dt
        last = e["at"]
        if e["type"] == "O":
            stack.append(e["frame"])
        elif stack:
            stack.pop()
print(f"busy {busy:.0f} ms of {busy + idle:.0f} ms sampled thread time ({100 * busy / max(busy + idle, 1):.1f} %)")
short = lambda n: re.sub(r"\(.*", "", n)[-110:]
print("-- exclusive (% of busy time)")
for name, t in sorted(exclusive.items(), key=lambda kv: -kv[1])[:top]:
    print(f"{100 * t / busy:6.2f}  {short(name)}")
print("-- inclusive (% of busy time)")
for name, t in [kv for kv in sorted(inclusive.items(), key=lambda kv: -kv[1]) if not re.match(r"^(Process|Thread|Threads|\(Non-Activities\))|StartCallback|^$", kv[0])][:top]:
    print(f"{100 * t / busy:6.2f}  {short(name)}")
