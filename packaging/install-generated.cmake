# Run by `cmake --install` (see CMakeLists.txt): writes the files that name the install-time
# prefix into HERALD_OUT, from where the install rules that follow copy them.
# In: HERALD_SOURCE, HERALD_OUT, HERALD_BINDIR, HERALD_DATADIR.
configure_file(${HERALD_SOURCE}/packaging/systemd/herald.service.in ${HERALD_OUT}/herald.service
               @ONLY)
# The demo configuration reads the installed sample data; its database and Maildir stay
# relative, so they land beside the copy a user makes of it.
file(READ ${HERALD_SOURCE}/config/demo.toml demo)
string(REPLACE "\"sample/" "\"${HERALD_DATADIR}/sample/" demo "${demo}")
string(REPLACE "\"../var/demo/" "\"var/" demo "${demo}")
string(REPLACE "herald run --once --config config/demo.toml"
               "cp ${HERALD_DATADIR}/demo.toml DIR/ && herald run --once --config DIR/demo.toml"
               demo "${demo}")
string(REPLACE "var/demo/Maildir/new/" "DIR/var/Maildir/new/" demo "${demo}")
file(WRITE ${HERALD_OUT}/demo.toml "${demo}")
