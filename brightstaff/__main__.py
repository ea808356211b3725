"""`python -m brightstaff` runs the command line."""

from brightstaff.cli import main

raise SystemExit(main())
