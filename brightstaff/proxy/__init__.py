"""The Envoy side: render Envoy's bootstrap from a Config, run Envoy as a supervised child process, and the
`up` stack (brightstaff and its Envoy started and stopped together). Nothing here is on the request path."""
