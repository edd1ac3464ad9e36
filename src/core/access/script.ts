// The POSIX sh script the helper container runs (busybox ash, dash and bash all run it). It serves the
// requests of protocol.ts one after the other and writes nowhere but /tmp (a small tmpfs).
//
// Why it looks the way it does:
// - one tool process per request where it can, and no subshells: a tool's stderr goes to /tmp/e, read
//   back with the `read` builtin only when it failed;
// - `${e##*: }` keeps the strerror part of any tool's message ("base64: /x: Permission denied"), which the
//   engine maps back to an errno name, whatever the path in between holds;
// - a link target on one line goes back raw; one with newlines goes back in base64 with readlink's own
//   trailing newline, which the engine removes;
// - LC_ALL=C keeps GNU tools' messages in English and their quotes ASCII, so both can be matched.
//
// The confined ops (c t k e p) read what a container wrote. The helper runs with --pid=host and
// SYS_PTRACE, so any link the kernel followed for it could reach /proc/<pid>/root/… and the host's files.
// The script never lets the kernel follow one:
// - it changes into the root (the engine's own path: /proc/PID/root or a bound layer directory), then
//   into each component in turn, each time checking first that the name is no link and afterwards (with
//   the directory it left held open as fd 4) that the directory it arrived in has the one it left as
//   parent and is not that one. A name swapped for a link meanwhile lands elsewhere and fails the
//   request ("swapped") before anything there is looked at; `test -ef` is a builtin, so this costs no
//   process. A link met on the way goes back to the engine, which resolves its target inside the root
//   and asks again (resolution lives in TypeScript: protocol.ts, helperFiles.ts);
// - names are then used relative to that pinned working directory, one component each, so no later
//   swap redirects them, and `cd /` after every request lets go of the container's mounts;
// - a file is read only if lstat calls it regular; it is opened in a child bounded by `timeout -s KILL`
//   (a FIFO swapped in blocks the open, not the script), the opened file's own identity (fstat through
//   /proc/self/fd/3) must be the one lstat saw and must not be on a kernel filesystem, and only then
//   does `head -c` copy at most the engine's byte cap;
// - a directory listing is one `stat` of `.` and the names a glob found (`find … -exec stat {} +` past
//   1 000 names, so no argument list grows past ARG_MAX), written raw: each record ends its name with
//   `/`, which no name holds, so any byte, newlines included, survives without a base64 process.
//
// The loop ends on EOF of stdin (the engine's connection closed) or when no request came for
// XRAY_IDLE_S seconds (default 300, 0 for none) in shells whose `read` has -t (ash, bash; dash has
// none, and ends on EOF only).
const SOURCE = String.raw`
LC_ALL=C; export LC_ALL
unset CDPATH
NL='
'
FMT='%d:%i %f %s %t %T %n/'
idle=\${XRAY_IDLE_S:-300}
case $idle in ''|*[!0-9]*) idle=300 ;; esac
rt=
if [ "$idle" -gt 0 ]; then
  { read -t 1 x </dev/null; [ $? -ne 2 ] && rt="-t $idle"; } 2>/dev/null
fi
fail() { r=\${1##*: }; r=\${r%%"$NL"*}; printf '!%s 1 %s\n' "$2" "\${r:-Input/output error}"; }
failfile() { e=; IFS= read -r e <"$1"; fail "$e" "$2"; }
rooterror() {
  root=
  while IFS= read -r l; do case $l in *"$1/: "*|*"$1/': "*) root=$l; break ;; esac; done </tmp/e
  [ -n "$root" ]
}
# A confined op's outcome: '!ID STATUS K TEXT', K the index of the component it concerns.
st() { printf '!%s %s %s %s\n' "$id" "$1" "$k" "$2"; }
stfile() { e=; IFS= read -r e <"$2"; r=\${e##*: }; st "$1" "\${r:-Input/output error}"; }
# The component $1 is a link: its target goes back for the engine, as the text of the reply when it is
# one line, else in base64 with readlink's newline.
link() {
  if readlink -v -- "./$1" >/tmp/l 2>/tmp/e; then
    more=1
    { IFS= read -r o; IFS= read -r next || more=; } </tmp/l
    if [ -z "$more" ]; then st 3 "$o"; else printf '>%s\n' "$id"; base64 /tmp/l; st 3 link; fi
  else linkerror; fi
}
# readlink failed: no link any more (swapped meanwhile), or one that cannot be read (a /proc link of a
# process the helper does not see).
linkerror() {
  e=; IFS= read -r e </tmp/e
  case $e in ''|*'Invalid argument'|*'not a symlink') st 4 swapped ;; *) r=\${e##*: }; st 1 "$r" ;; esac
}
# Into the directory $1 of the pinned one, never through a link (see the top of script.ts).
step() {
  if [ -L "./$1" ]; then link "$1"; return 1; fi
  if [ ! -d "./$1" ]; then
    if [ -e "./$1" ]; then st 1 'Not a directory'; else st 1 'No such file or directory'; fi
    return 1
  fi
  r=1
  { r=0; if cd -P -- "./$1"; then { [ .. -ef /proc/self/fd/4 ] && ! [ . -ef /proc/self/fd/4 ]; } || r=4; else r=1; fi; } 4<. 2>/dev/null
  # cd failed: the name went away or changed meanwhile, or it is a directory the helper may not enter.
  if [ "$r" = 1 ]; then
    if [ -L "./$1" ]; then r=4; elif [ ! -e "./$1" ]; then st 1 'No such file or directory'; return 1; fi
  fi
  case $r in 0) return 0 ;; 4) st 4 swapped ;; *) st 1 'Permission denied' ;; esac
  return 1
}
# Into the root $1, then down the '/'-separated components of $2; k counts the components passed.
descend() {
  k=0
  if ! cd -P -- "$1" 2>/dev/null; then
    k=-1
    if [ -e "$1" ]; then st 1 'Permission denied'; else st 1 'No such file or directory'; fi
    return 1
  fi
  rest=$2
  while [ -n "$rest" ]; do
    c=\${rest%%/*}
    case $rest in */*) rest=\${rest#*/} ;; *) rest= ;; esac
    step "$c" || return 1
    k=$((k+1))
  done
}
readfile() {
  if [ -L "./$1" ]; then link "$1"; return; fi
  if ! stat -c '%d:%i %f' -- "./$1" >/tmp/v 2>/tmp/e; then stfile 1 /tmp/e; return; fi
  IFS=' ' read -r ino mode </tmp/v
  case $mode in
    8???) ;;
    a???) link "$1"; return ;;
    *) st 5 "$mode"; return ;;
  esac
  timeout -s KILL "$secs" sh -c '
    [ -L "./$1" ] || [ -p "./$1" ] || [ -c "./$1" ] || [ -b "./$1" ] || [ -S "./$1" ] && exit 4
    exec 3<"./$1"
    [ -f /proc/self/fd/3 ] || exit 4
    set -- "$(stat -L -c %d:%i /proc/self/fd/3)" "$2" "$3" "$(stat -f -L -c %t /proc/self/fd/3)"
    [ "$1" = "$2" ] || exit 4
    case $4 in 9fa0|62656572|64626720|74726163|73636673|27e0eb|63677270|cafe4a11|62656570|de5e81e4|6165676c|42494e4d)
      echo "$4" >&2; exit 6 ;;
    esac
    exec head -c "$3" <&3' sh "$1" "$ino" "$max" >/tmp/r 2>/tmp/e
  case $? in
    0) printf '>%s\n' "$id"; base64 /tmp/r; printf '!%s 0\n' "$id" ;;
    4) st 4 swapped ;;
    6) stfile 6 /tmp/e ;;
    124|137|143) st 2 timeout ;;
    *) stfile 1 /tmp/e ;;
  esac
}
# The entries of the pinned directory, raw: '=ID', then one stat record each ('.' first), then '!ID'.
listing() {
  set -- * .[!.]* ..?*
  # Through $(…): busybox ash runs the applet in the forked child without an exec, several times faster;
  # it drops the last record's newline only (a record ends in '/'), which printf puts back.
  if [ $# -gt 1000 ]; then
    out=$(stat -c "$FMT" . 2>/tmp/e; find . -mindepth 1 -maxdepth 1 -exec stat -c "$FMT" {} + 2>>/tmp/e)
  else
    out=$(stat -c "$FMT" -- . "$@" 2>/tmp/e)
  fi
  printf '=%s\n%s\n' "$id" "$out"
  # A name the glob left as it was (nothing matched) or one removed meanwhile is not listed, as readdir
  # would not list it; any other error fails the listing.
  bad=
  while IFS= read -r l; do case $l in *'No such file or directory'*) ;; *) bad=$l; break ;; esac; done </tmp/e
  if [ -n "$bad" ]; then r=\${bad##*: }; st 1 "$r"; else printf '!%s 0\n' "$id"; fi
}
confined() {
  root=\${arg%%//*}; rel=\${arg#*//}
  case $op in
    t|p) descend "$root" "$rel" || return
      if [ "$op" = t ]; then listing; else printf '!%s 0\n' "$id"; fi
      return ;;
  esac
  name=\${rel##*/}
  case $rel in */*) dirs=\${rel%/*} ;; *) dirs= ;; esac
  descend "$root" "$dirs" || return
  case $op in
    c) readfile "$name" ;;
    k) if [ -L "./$name" ]; then
        if readlink -v -- "./$name" >/tmp/l 2>/tmp/e; then
          more=1
          { IFS= read -r o; IFS= read -r next || more=; } </tmp/l
          if [ -z "$more" ]; then printf '~%s %s\n' "$id" "$o"
          else printf '>%s\n' "$id"; base64 /tmp/l; printf '!%s 0\n' "$id"; fi
        else linkerror; fi
      else st 1 'Invalid argument'; fi ;;
    e) if [ -L "./$name" ] || [ -e "./$name" ]; then printf '!%s 0\n' "$id"; else st 1 'No such file or directory'; fi ;;
  esac
}
for t in base64 find head readlink stat timeout; do
  command -v "$t" >/dev/null 2>&1 || { printf '!0 127 missing %s\n' "$t"; exit 127; }
done
# "ready idle": this shell's read has -t, so the loop ends after XRAY_IDLE_S without a request (a helper
# that keeps its stdin for the next run relies on it).
printf '!0 0 ready%s\n' "\${rt:+ idle}"
while IFS=' ' read $rt -r id op arg; do
  # Only numbered requests: Podman's attach passes the attach call's own body to stdin first, which the
  # engine ends with a newline of its own; that line is no request and gets no answer.
  case $id in ''|*[!0-9]*) continue ;; esac
  arg=\${arg%|}
  case $op in
    [RLDSCTKEPH]) arg=$(printf "\${arg}x"); arg=\${arg%x}
      case $op in R) op=r;; L) op=l;; D) op=d;; S) op=s;; C) op=c;; T) op=t;; K) op=k;; E) op=e;; P) op=p;; H) op=h;; esac ;;
  esac
  case $op in
    c) max=\${arg%% *}; arg=\${arg#* }; secs=\${arg%% *}; arg=\${arg#* } ;;
    h) max=\${arg%% *}; arg=\${arg#* } ;;
  esac
  case $op in
    r) printf '>%s\n' "$id"
      if base64 "$arg" 2>/tmp/e; then printf '!%s 0\n' "$id"; else failfile /tmp/e "$id"; fi ;;
    l) if readlink -v "$arg" >/tmp/l 2>&1; then
        more=1
        { IFS= read -r o; IFS= read -r next || more=; } </tmp/l
        if [ -z "$more" ]; then printf '~%s %s\n' "$id" "$o"
        else printf '>%s\n' "$id"; base64 /tmp/l; printf '!%s 0\n' "$id"; fi
      else failfile /tmp/l "$id"; fi ;;
    d) find "$arg/" -mindepth 1 -maxdepth 1 -print0 >/tmp/n 2>/tmp/e
      if rooterror "$arg"; then fail "$root" "$id"; else
        printf '>%s\n' "$id"; base64 /tmp/n; printf '!%s 0\n' "$id"
      fi ;;
    s) if stat -c %f "$arg" >/dev/null 2>/tmp/e; then printf '!%s 0\n' "$id"; else failfile /tmp/e "$id"; fi ;;
    h) if head -c "$max" "$arg" >/tmp/r 2>/tmp/e; then printf '>%s\n' "$id"; base64 /tmp/r; printf '!%s 0\n' "$id"; else failfile /tmp/e "$id"; fi ;;
    [ctkep]) confined; cd / ;;
    *) printf '!%s 1 Invalid argument\n' "$id" ;;
  esac
done
`;

/** The script; written with `\${` above so TypeScript does not interpolate, which the shell wants as `${`. */
export const HELPER_SCRIPT = SOURCE.replace(/\\\$\{/g, '${');

/** How many names a listing passes to one `stat` before it leaves batching to `find -exec … +`. */
export const LISTING_GLOB_MAX = 1000;
