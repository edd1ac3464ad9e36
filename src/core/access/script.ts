// The POSIX sh script the helper container runs (busybox ash, dash and bash all run it). It serves the
// requests of protocol.ts one after the other and writes nowhere but /tmp (a small tmpfs).
//
// Why it looks the way it does:
// - one tool process per request and no subshells: a tool's stderr goes to /tmp/e, read back with the
//   `read` builtin only when it failed;
// - `${e##*: }` keeps the strerror part of any tool's message ("base64: /x: Permission denied"), which the
//   engine maps back to an errno name, whatever the path in between holds;
// - a link target on one line goes back raw; one with newlines goes back in base64 with readlink's own
//   trailing newline, which the engine removes;
// - a walk writes find's NUL-separated list to /tmp once and feeds the same list to stat, so both agree;
// - an error about a listed or walked directory itself fails the request; errors about entries inside it
//   (removed meanwhile, unreadable) go back as text for the engine to judge, as the direct walker would;
// - LC_ALL=C keeps GNU tools' messages in English and their quotes ASCII, so both can be matched.
const SOURCE = String.raw`
LC_ALL=C; export LC_ALL
NL='
'
fail() { r=\${1##*: }; r=\${r%%"$NL"*}; printf '!%s 1 %s\n' "$2" "\${r:-Input/output error}"; }
failfile() { e=; IFS= read -r e <"$1"; fail "$e" "$2"; }
rooterror() {
  root=
  while IFS= read -r l; do case $l in *"$1/: "*|*"$1/': "*) root=$l; break ;; esac; done </tmp/e
  [ -n "$root" ]
}
for t in base64 find stat readlink xargs; do
  command -v "$t" >/dev/null 2>&1 || { printf '!0 127 missing %s\n' "$t"; exit 127; }
done
printf '!0 0 ready\n'
while IFS=' ' read -r id op arg; do
  arg=\${arg%|}
  case $op in
    [RLDWS]) arg=$(printf "\${arg}x"); arg=\${arg%x}
      case $op in R) op=r;; L) op=l;; D) op=d;; W) op=w;; S) op=s;; esac ;;
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
    w) find "$arg/" -mindepth 1 -print0 >/tmp/n 2>/tmp/e
      if rooterror "$arg"; then fail "$root" "$id"; else
        printf '>%s\n' "$id"
        base64 /tmp/n; echo +
        if [ -s /tmp/n ]; then xargs -0 stat -c '%f %s %t %T %n' </tmp/n 2>>/tmp/e | base64; fi
        echo +; base64 /tmp/e
        printf '!%s 0\n' "$id"
      fi ;;
    s) if stat -c %f "$arg" >/dev/null 2>/tmp/e; then printf '!%s 0\n' "$id"; else failfile /tmp/e "$id"; fi ;;
    *) printf '!%s 1 Invalid argument\n' "$id" ;;
  esac
done
`;

/** The script; written with `\${` above so TypeScript does not interpolate, which the shell wants as `${`. */
export const HELPER_SCRIPT = SOURCE.replace(/\\\$\{/g, '${');
