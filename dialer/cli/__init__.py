"""dialerctl, the operator CLI (typer + rich). Entry point: dialer.cli.main:main."""
