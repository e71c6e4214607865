#!/usr/bin/env python3
# A XenStore daemon good enough to run yasmind, yasmin-mapd and the
# xenstore-* tools on a host without Xen (libxenstore talks to the unix
# socket in $XENSTORED_PATH). Nodes, values, permissions (kept and listed,
# not enforced), watches (fired on writes, chmods and removals below them,
# and once on registration), transactions (applied at once). Writing the
# special paths @introduceDomain / @releaseDomain fires their watchers.
#   fake-xenstored.py SOCKET
import os, socket, struct, sys, threading

DIRECTORY, READ, GET_PERMS, WATCH, UNWATCH, TX_START, TX_END = 1, 2, 3, 4, 5, 6, 7
WRITE, MKDIR, RM, SET_PERMS, WATCH_EVENT, ERROR = 11, 12, 13, 14, 15, 16
HDR = struct.Struct('<IIII')

lock = threading.Lock()
nodes = {'/': ['', ['n0']]}       # path -> [value, perms]
watches = []                      # (conn, path, token)


def parent(p):
    return p.rsplit('/', 1)[0] or '/'


def children(p):
    pre = p.rstrip('/') + '/'
    return sorted({k[len(pre):].split('/')[0] for k in nodes
                   if k.startswith(pre) and k != p})


def send(conn, typ, rid, tx, payload):
    try:
        conn.sendall(HDR.pack(typ, rid, tx, len(payload)) + payload)
    except OSError:
        pass


def fire(path):
    for c, w, tok in list(watches):
        if path == w or path.startswith(w.rstrip('/') + '/') or \
           w.startswith(path.rstrip('/') + '/'):
            send(c, WATCH_EVENT, 0, 0, path.encode() + b'\0' + tok.encode() + b'\0')


def mk(path):
    if path in nodes:
        return
    mk(parent(path))
    nodes[path] = ['', list(nodes[parent(path)][1])]


def handle(conn, typ, rid, tx, body):
    args = body.split(b'\0')
    path = args[0].decode(errors='replace')
    if path and not path.startswith('/') and not path.startswith('@'):
        path = '/local/domain/0/' + path
    ok = lambda: send(conn, typ, rid, tx, b'OK\0')
    err = lambda e: send(conn, ERROR, rid, tx, e.encode() + b'\0')
    if typ == READ:
        if path not in nodes:
            return err('ENOENT')
        send(conn, typ, rid, tx, nodes[path][0].encode())
    elif typ == DIRECTORY:
        if path not in nodes:
            return err('ENOENT')
        send(conn, typ, rid, tx, b''.join(c.encode() + b'\0' for c in children(path)))
    elif typ == GET_PERMS:
        if path not in nodes:
            return err('ENOENT')
        send(conn, typ, rid, tx, b''.join(p.encode() + b'\0' for p in nodes[path][1]))
    elif typ in (WRITE, MKDIR):
        if path.startswith('@'):
            ok()
            return fire(path)
        value = body[len(args[0]) + 1:].decode(errors='replace') if typ == WRITE else None
        mk(path)
        if value is not None:
            nodes[path][0] = value
        ok()
        fire(path)
    elif typ == RM:
        if path not in nodes:
            return err('ENOENT')
        for k in [k for k in nodes if k == path or k.startswith(path + '/')]:
            del nodes[k]
        ok()
        fire(path)
    elif typ == SET_PERMS:
        if path not in nodes:
            return err('ENOENT')
        nodes[path][1] = [a.decode() for a in args[1:] if a]
        ok()
        fire(path)
    elif typ == WATCH:
        tok = args[1].decode()
        watches.append((conn, path, tok))
        ok()
        send(conn, WATCH_EVENT, 0, 0, path.encode() + b'\0' + tok.encode() + b'\0')
    elif typ == UNWATCH:
        tok = args[1].decode()
        watches[:] = [w for w in watches if w != (conn, path, tok)]
        ok()
    elif typ == TX_START:
        send(conn, typ, rid, tx, b'1\0')
    elif typ == TX_END:
        ok()
    else:
        err('ENOSYS')


def serve(conn):
    buf = b''
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            buf += data
            while len(buf) >= HDR.size:
                typ, rid, tx, ln = HDR.unpack(buf[:HDR.size])
                if len(buf) < HDR.size + ln:
                    break
                body, buf = buf[HDR.size:HDR.size + ln], buf[HDR.size + ln:]
                with lock:
                    handle(conn, typ, rid, tx, body)
    finally:
        with lock:
            watches[:] = [w for w in watches if w[0] is not conn]
        conn.close()


def main():
    path = sys.argv[1]
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(16)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


main()
