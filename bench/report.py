"""The Markdown report `bench/run` prints and writes: one results dict in, one table out."""


def render(r, conc):
    m = r["machine"]
    lines = [f"# Benchmark {r['date']}", "",
             f"{m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, Linux {m['kernel']}, {m['rustc']}, "
             f"{r['profile']} build, {r.get('collector', 'Collector')}; {r['settings']['seconds']} s per step after "
             f"{r['settings']['warmup']} s warm-up; default batch settings; load generator, services, Collector and "
             "sink share the machine.", "",
             "| scenario | concurrency | req/s | p50 ms | p99 ms | spans/req | CPU ms/req (per process) |",
             "|---|---|---|---|---|---|---|"]
    for kind, rows in r["scenarios"].items():
        for c in map(str, conc):
            x = rows[c]
            cpu = ", ".join(f"{k} {v}" for k, v in x["cpu_ms_per_request"].items())
            lines.append(f"| {kind} | {c} | {x['rps']:.0f} | {x['p50_us'] / 1000:.2f} | {x['p99_us'] / 1000:.2f} | "
                         f"{x.get('spans_per_request', '–')} | {cpu} |")
    lines += ["", "Spans the services counted as lost, per scenario (all concurrencies): " + "; ".join(
        f"{k} {rows['spans_lost_reported']}" for k, rows in r["scenarios"].items()
        if rows["spans_lost_reported"] is not None) + "."]
    lines += ["", "| ratio (throughput) | " + " | ".join(f"c={c}" for c in conc) + " |",
              "|---|" + "---|" * len(conc)]
    for name in next(iter(r["ratios"].values())):
        lines.append(f"| {name} | " + " | ".join(str(r["ratios"][str(c)][name]) for c in conc) + " |")
    lines.append("| CPU µs per span ((direct − off) / 10) | " +
                 " | ".join(str(r["cpu_us_per_span"][str(c)]) for c in conc) + " |")
    lines.append("| of which export threads (direct) | " +
                 " | ".join(str(r["scenarios"]["direct"][str(c)]["export_cpu_us_per_span"]) for c in conc) + " |")
    lines += ["", "Peak RSS (MiB): " + "; ".join(
        f"{k}: " + ", ".join(f"{n} {v}" for n, v in rows["peak_rss_mib"].items()) for k, rows in r["scenarios"].items())]
    lines += ["", "| saturation (c=" + str(conc[-1]) + ") | seconds | req/s | spans expected | delivered | "
              "lost at the sink | lost, counted by the services |", "|---|---|---|---|---|---|---|"]
    for kind, x in r["saturation"].items():
        lines.append(f"| {kind} | {x['duration_us'] / 1e6:.0f} | {x['rps']:.0f} | {x['spans_expected']} | "
                     f"{x['spans_delivered']} | {x['spans_lost']} | {x['spans_lost_reported']} |")
    d, v = r["collector_down"], r["collector_down_vs_up"]
    lines += ["", f"Collector down (c={conc[-1]}): {d['rps']:.0f} req/s, p99 {d['p99_us'] / 1000:.2f} ms — "
              f"throughput {v['rps']}× and p99 {v['p99']}× of Collector up."]
    f = r["flood"]
    lines += ["", f"Flood (one process, one export queue, {f['seconds']:.0f} s): created {f['created_per_s']:.0f} spans/s "
              f"on one thread at {f['create_cpu_us_per_span']:.2f} µs CPU each; export {f['export_cpu_us_per_span']:.2f} µs "
              f"CPU per span; one export queue keeps up with span creation on "
              f"{f['cores_one_export_queue_keeps_up_with']:.1f} cores doing nothing but spans."]
    i = r["instructions"]
    per = i["added_per_span"]
    lines += ["", f"Instructions per span under callgrind ({i['requests']} sequential requests, traced − untraced, "
              f"both services): {per['total']} — request path {per['request_path']}, export {per['export']}.", ""]
    if r.get("soak"):
        k = r["soak"]
        lines += [f"Soak ({k['seconds']} s at about {k['target_rps']} req/s, half of {k['saturation_rps']}, through the "
                  f"Collector): {k['spans_delivered']}/{k['spans_expected']} spans delivered, the services counted "
                  f"{k['spans_lost_reported']} lost, {k['errors']} errors; p99 {k['p99_ms']['min']}–{k['p99_ms']['max']} ms "
                  f"(median {k['p99_ms']['median']}); growth per minute: " + "; ".join(
                      f"{n} RSS {t['rss_mib_per_min']:+} MiB, fds {t['fds_per_min']:+}" for n, t in k["trends"].items()), ""]
    if r.get("fleet"):
        lines += ["Collector fleet (tests/suite/fleet_capacity.rs): " + r["fleet"][0], ""]
        lines += [f"- {line}" for line in r["fleet"][1:]] + [""]
    return "\n".join(lines)
