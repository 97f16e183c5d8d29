"""The `pagefan` command and what it runs on a laptop; none of it ships to Lambda (src/Makefile).

Two wings and the command:

* :mod:`pagefan.local.emulator` runs template.yaml on moto: the account, the stack's deployment,
  IAM enforcement, function environments, the moto corrections and the limits AWS would impose.
* :mod:`pagefan.local.client` works against any stack, emulated or deployed, through boto3 alone:
  upload, follow and download a job, status, retry, logs, cost and the gallery.
* :mod:`pagefan.local.cli` is the command: it parses options and calls one wing or the other;
  :mod:`pagefan.local.sam_conventions` reads what the SAM CLI reads (parameter overrides,
  samconfig.toml, --env-vars files) for it.
* :mod:`pagefan.local.project` says where the project's files are (a checkout, or an installed
  wheel's copy): the template, its ASL, the sample events and document, the prices.

Imports run one way: ``cli`` → ``sam_conventions``, ``emulator`` and ``client`` → ``project``; the
two wings never import each other, and neither imports the command.
"""
