"""What infra engineers run around `pulumi up`: reports, preflight, preview summaries, migration."""
