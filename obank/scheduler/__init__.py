"""The durable scheduler: every periodic job once per due time, across any number of processes.

`registry` (a job: name, schedule, coroutine), `schedules` (cron in a time zone, intervals), `models` (the
`platform.job_runs` rows), `repository` (their SQL), `scheduler` (the loop: insert due runs, claim, heartbeat,
record, retry), `service` (what operators ask: jobs, history, a run now), `router` (the staff API), `jobs`
(the scheduler's own purge). It knows no banking: the composition root registers the jobs.
"""
