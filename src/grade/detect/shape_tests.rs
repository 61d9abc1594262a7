//! Detection on the shapes real submissions take beyond the textbook's: Java in a
//! package, Python 2 and Python 3 in one folder, clients that bind, ports written as
//! strings, and two files for one role.

use std::path::Path;

use super::tests::{check, sources, words, write};
use super::*;
use crate::registry::RoleKey;

const UDP_SERVER: RoleKey = RoleKey::ALL[0];
const UDP_CLIENT: RoleKey = RoleKey::ALL[1];
const TCP_SERVER: RoleKey = RoleKey::ALL[2];
const TCP_CLIENT: RoleKey = RoleKey::ALL[3];

fn detect_dir(dir: &Path) -> Sources {
    match detect(dir).expect("a readable folder") {
        Submission::Sources(s) => s,
        Submission::Manifest(_) => panic!("no manifest was written"),
    }
}

#[test]
fn java_in_a_package_is_compiled_into_a_class_folder_and_run_by_its_qualified_name() {
    check(
        "java-package",
        Language::Java,
        &[
            "udp-server UDPServer.java Java port=12000",
            "udp-client UDPClient.java Java port=12000 host=localhost",
            "tcp-server TCPServer.java Java port=12000",
            "tcp-client TCPClient.java Java port=12000 host=localhost",
        ],
    );
    let s = sources("java-package");
    let build = "javac -d .classes TCPClient.java TCPServer.java UDPClient.java UDPServer.java";
    for (key, class) in [
        (UDP_SERVER, "lab2.UDPServer"),
        (UDP_CLIENT, "lab2.UDPClient"),
        (TCP_SERVER, "lab2.TCPServer"),
        (TCP_CLIENT, "lab2.TCPClient"),
    ] {
        let role = s.role(key).unwrap();
        assert_eq!(words(role.build.as_ref().unwrap()), build, "{key}");
        assert_eq!(
            words(&role.run),
            format!("java -cp .classes {class}"),
            "{key}"
        );
    }
}

#[test]
fn a_package_in_a_source_folder_builds_only_its_own_files() {
    let dir = tempfile::tempdir().unwrap();
    let server = "package TCP;\nimport java.net.*;\npublic class TcpServer {\n  public static void main(String[] a) throws Exception {\n    ServerSocket s = new ServerSocket(6789);\n    while (true) { Socket c = s.accept(); c.close(); }\n  }\n}\n";
    let client = "package lab.udp;\nimport java.net.*;\npublic class Client {\n  public static void main(String[] a) throws Exception {\n    DatagramSocket s = new DatagramSocket();\n    byte[] b = \"x\".getBytes();\n    s.send(new DatagramPacket(b, b.length, InetAddress.getByName(\"localhost\"), 9876));\n  }\n}\n";
    write(dir.path(), "src/TCP/TcpServer.java", server);
    write(
        dir.path(),
        "src/TCP/Util.java",
        "package TCP;\nclass Util {}\n",
    );
    write(dir.path(), "src/lab/udp/Client.java", client);
    write(dir.path(), "Plain.java", "class Plain { }\n");
    let s = detect_dir(dir.path());
    let tcp = s.role(TCP_SERVER).unwrap();
    assert_eq!(
        words(tcp.build.as_ref().unwrap()),
        "javac -d .classes src/TCP/TcpServer.java src/TCP/Util.java"
    );
    assert_eq!(words(&tcp.run), "java -cp .classes TCP.TcpServer");
    let udp = s.role(UDP_CLIENT).unwrap();
    assert_eq!(
        words(udp.build.as_ref().unwrap()),
        "javac -d .classes src/lab/udp/Client.java"
    );
    assert_eq!(words(&udp.run), "java -cp .classes lab.udp.Client");
}

#[test]
fn python2_clients_and_python3_servers_each_run_under_their_own_interpreter() {
    check(
        "py-mixed",
        Language::Python3,
        &[
            "udp-server UDPServer.py Python 3 port=12000 \
             | runs under Python 3: it uses .encode() and .decode()",
            "udp-client UDPClient.py Python 2 port=12000 host=localhost \
             | runs under Python 2: it uses raw_input",
            "tcp-server TCPServer.py Python 3 port=12000 \
             | runs under Python 3: it uses .encode() and .decode()",
            "tcp-client TCPClient.py Python 2 port=12000 host=localhost \
             | runs under Python 2: it uses raw_input",
            "note: Python 2 and Python 3 files: each runs under its own interpreter",
        ],
    );
    let s = sources("py-mixed");
    assert_eq!(
        words(&s.role(UDP_SERVER).unwrap().run),
        "python3 UDPServer.py"
    );
    assert_eq!(
        words(&s.role(UDP_CLIENT).unwrap().run),
        "python2 UDPClient.py"
    );
}

/// The interpreter of each of `files` (name, code), in name order.
fn interpreters(files: &[(&str, &str)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    for (name, code) in files {
        write(dir.path(), name, code);
    }
    let s = detect_dir(dir.path());
    let mut out: Vec<String> = s
        .roles
        .values()
        .map(|r| format!("{} {}", r.file.display(), r.language))
        .collect();
    out.sort();
    out.dedup();
    out
}

const PY_UDP_SERVER_EITHER: &str = "from socket import *\nserverSocket = socket(AF_INET, SOCK_DGRAM)\nserverSocket.bind(('', 12000))\nwhile 1:\n    message, clientAddress = serverSocket.recvfrom(2048)\n    serverSocket.sendto(message.upper(), clientAddress)\n";

#[test]
fn a_file_that_runs_under_either_python_follows_the_folder() {
    let py2_client = "from socket import *\ns = socket(AF_INET, SOCK_DGRAM)\nm = raw_input('Input lowercase sentence:')\ns.sendto(m, ('localhost', 12000))\nprint s.recvfrom(2048)[0]\n";
    let py3_client = "from socket import *\ns = socket(AF_INET, SOCK_DGRAM)\nm = input('Input lowercase sentence:')\ns.sendto(m.encode(), ('localhost', 12000))\nprint(s.recvfrom(2048)[0].decode())\n";
    assert_eq!(
        interpreters(&[("c.py", py2_client), ("s.py", PY_UDP_SERVER_EITHER)]),
        ["c.py Python 2", "s.py Python 2"],
        "a server that runs under either follows a Python 2 folder"
    );
    assert_eq!(
        interpreters(&[("c.py", py3_client), ("s.py", PY_UDP_SERVER_EITHER)]),
        ["c.py Python 3", "s.py Python 3"]
    );
    assert_eq!(
        interpreters(&[("s.py", PY_UDP_SERVER_EITHER)]),
        ["s.py Python 3"],
        "Python 3 when nothing says otherwise"
    );
    let py3_server =
        PY_UDP_SERVER_EITHER.replace("message.upper()", "message.decode().upper().encode()");
    let with_tcp_py3 = "from socket import *\ns = socket(AF_INET, SOCK_STREAM)\ns.connect(('localhost', 12000))\ns.send(input().encode())\nprint(s.recv(1024).decode())\n";
    assert_eq!(
        interpreters(&[
            ("a.py", py2_client),
            ("b.py", &py3_server),
            ("c.py", with_tcp_py3),
        ]),
        ["a.py Python 2", "b.py Python 3", "c.py Python 3"]
    );
}

#[test]
fn a_go_client_on_an_ephemeral_packet_socket_is_a_client_and_string_ports_are_found() {
    check(
        "go-listenpacket",
        Language::Go,
        &[
            "udp-server udp_server.go Go port=12000",
            "udp-client udp_client.go Go port=12000 host=localhost",
            "tcp-server tcp_server.go Go port=12000",
            "tcp-client tcp_client.go Go port=12000 host=localhost",
        ],
    );
    // Go is not installed here: the submission is named as needing it, not run.
    if which::which("go").is_err() {
        let missing =
            missing_toolchain(&detect(&super::tests::fixture("go-listenpacket")).unwrap());
        assert!(missing.is_some_and(|m| m.to_string().contains("`go` is not installed")));
    }
}

/// The roles and ports of one file `name` holding `code`.
fn roles_of(name: &str, code: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), name, code);
    let s = detect_dir(dir.path());
    s.roles
        .iter()
        .map(|(key, r)| format!("{key} port={:?}", r.port))
        .collect()
}

#[test]
fn a_go_packet_socket_is_a_server_only_on_a_fixed_port_and_when_it_waits_first() {
    let client = |listen: &str| {
        format!(
            "package main\nimport (\n\t\"bufio\"\n\t\"net\"\n\t\"os\"\n)\nfunc main() {{\n\tpc, _ := {listen}\n\tdst, _ := net.ResolveUDPAddr(\"udp\", \"127.0.0.1:12000\")\n\tline, _ := bufio.NewReader(os.Stdin).ReadString('\\n')\n\tpc.WriteTo([]byte(line), dst)\n\tbuf := make([]byte, 2048)\n\tpc.ReadFrom(buf)\n}}\n"
        )
    };
    for listen in [
        r#"net.ListenPacket("udp", ":")"#,
        r#"net.ListenPacket("udp", ":0")"#,
        r#"net.ListenPacket("udp4", "")"#,
        r#"net.ListenUDP("udp", nil)"#,
    ] {
        assert_eq!(
            roles_of("main.go", &client(listen)),
            ["udp-client port=Some(12000)"],
            "{listen}"
        );
    }
    // A fixed local port does not make a server of a program that sends first.
    assert_eq!(
        roles_of("main.go", &client(r#"net.ListenPacket("udp", ":5000")"#)),
        ["udp-client port=Some(12000)"]
    );
    let server = "package main\nimport \"net\"\nfunc main() {\n\tpc, _ := net.ListenPacket(\"udp\", \"0.0.0.0:12000\")\n\tbuf := make([]byte, 2048)\n\tfor {\n\t\tn, a, _ := pc.ReadFrom(buf)\n\t\tpc.WriteTo(buf[:n], a)\n\t}\n}\n";
    assert_eq!(roles_of("main.go", server), ["udp-server port=Some(12000)"]);
}

#[test]
fn a_c_client_that_binds_a_local_port_is_a_client_of_the_server_port() {
    check(
        "c-bind-client",
        Language::C,
        &[
            "udp-client udpclient.c C port=12000 host=127.0.0.1",
            "tcp-client tcpclient.c C port=12000 host=localhost",
        ],
    );
    // The same calls in the server's order: bind, then wait for a datagram.
    let server = "#include <sys/socket.h>\n#include <netinet/in.h>\nint main(void) {\n  char buf[2048];\n  struct sockaddr_in me, peer;\n  socklen_t len = sizeof peer;\n  int s = socket(AF_INET, SOCK_DGRAM, 0);\n  me.sin_family = AF_INET;\n  me.sin_port = htons(5005);\n  bind(s, (struct sockaddr *)&me, sizeof me);\n  for (;;) {\n    int n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&peer, &len);\n    sendto(s, buf, n, 0, (struct sockaddr *)&peer, len);\n  }\n}\n";
    assert_eq!(
        roles_of("udp_client.c", server),
        ["udp-server port=Some(5005)"]
    );
}

#[test]
fn python_and_java_clients_that_bind_a_local_port_are_clients() {
    let python = "from socket import *\nclientPort = 5005\nserverPort = 12000\ns = socket(AF_INET, SOCK_DGRAM)\ns.bind(('', clientPort))\nmsg = input('Input lowercase sentence:')\ns.sendto(msg.encode(), ('localhost', serverPort))\nreply, addr = s.recvfrom(2048)\nprint(reply.decode())\n";
    assert_eq!(roles_of("a.py", python), ["udp-client port=Some(12000)"]);
    let java = "import java.net.*;\nclass Client {\n  public static void main(String[] a) throws Exception {\n    DatagramSocket s = new DatagramSocket(5005);\n    byte[] b = new java.util.Scanner(System.in).nextLine().getBytes();\n    s.send(new DatagramPacket(b, b.length, InetAddress.getByName(\"localhost\"), 9876));\n    DatagramPacket r = new DatagramPacket(new byte[1024], 1024);\n    s.receive(r);\n  }\n}\n";
    assert_eq!(
        roles_of("Client.java", java),
        ["udp-client port=Some(9876)"]
    );
}

#[test]
fn ports_written_as_strings_are_found() {
    let c = "#include <netdb.h>\n#include <sys/socket.h>\nint main(void) {\n  struct addrinfo *res;\n  getaddrinfo(\"localhost\", \"10912\", 0, &res);\n  int s = socket(AF_INET, SOCK_STREAM, 0);\n  connect(s, res->ai_addr, res->ai_addrlen);\n}\n";
    assert_eq!(roles_of("c.c", c), ["tcp-client port=Some(10912)"]);
    let define = "#include <sys/socket.h>\n#define PORT \"10912\"\nint main(void) {\n  int s = socket(AF_INET, SOCK_STREAM, 0);\n  bind(s, 0, 0);\n  listen(s, 5);\n}\n";
    assert_eq!(roles_of("s.c", define), ["tcp-server port=Some(10912)"]);
    let go = |addr: &str| {
        format!("package main\nimport \"net\"\nfunc main() {{\n\tln, _ := net.Listen(\"tcp\", {addr})\n\tln.Accept()\n}}\n")
    };
    for addr in [
        r#"":12000""#,
        r#""localhost:12000""#,
        r#"net.JoinHostPort("", "12000")"#,
    ] {
        assert_eq!(
            roles_of("s.go", &go(addr)),
            ["tcp-server port=Some(12000)"],
            "{addr}"
        );
    }
    let js = "const net = require('net');\nconst PORT = '10912';\nnet.createServer((s) => s.on('data', (d) => s.end(d.toString().toUpperCase()))).listen(PORT);\n";
    assert_eq!(roles_of("server.js", js), ["tcp-server port=Some(10912)"]);
}

#[test]
fn of_two_servers_the_one_the_client_talks_to_is_graded_and_both_are_named() {
    check(
        "py-two-servers",
        Language::Python3,
        &[
            "udp-server UDPServer.py Python 3 port=12000",
            "udp-client UDPClient.py Python 3 port=12000 host=localhost",
            "tcp-server TCPServer_v2.py Python 3 port=12001",
            "tcp-client TCPClient.py Python 3 port=12001 host=127.0.0.1",
            "note: tcp-server: TCPServer_v2.py and TCPServer.py both play it; TCPServer_v2.py \
             is graded (it listens on port 12001, where the TCP client sends), not TCPServer.py",
        ],
    );
    // The port decides: only one of them is graded.
    assert!(sources("py-two-servers").alternates.is_empty());
}

#[test]
fn of_two_servers_the_code_cannot_tell_apart_both_are_kept_the_better_named_first() {
    let s = sources("py-two-udp-servers");
    assert_eq!(s.role(UDP_SERVER).unwrap().file, Path::new("UDPServer.py"));
    assert_eq!(
        s.alternates.get(&UDP_SERVER).map(|r| r.file.as_path()),
        Some(Path::new("server_fixed.py"))
    );
    assert_eq!(s.alternates.len(), 1);
    assert_eq!(
        s.notes,
        [
            "udp-server: UDPServer.py and server_fixed.py both play it, and the code does not \
          say which is meant; both are graded and the better kept"
        ]
    );
}

#[test]
fn of_two_rust_servers_the_one_named_a_server_comes_first_and_both_are_graded() {
    let dir = tempfile::tempdir().unwrap();
    let server = "use std::io::{Read, Write};\nuse std::net::TcpListener;\nfn main() {\n    let l = TcpListener::bind(\"0.0.0.0:12000\").unwrap();\n    for s in l.incoming() {\n        let mut s = s.unwrap();\n        let mut b = [0u8; 1024];\n        let n = s.read(&mut b).unwrap();\n        s.write_all(&b[..n]).unwrap();\n    }\n}\n";
    write(dir.path(), "tcpnaive.rs", server);
    write(dir.path(), "tcpsrv.rs", server);
    let s = detect_dir(dir.path());
    assert_eq!(s.role(TCP_SERVER).unwrap().file, Path::new("tcpsrv.rs"));
    assert_eq!(
        s.notes,
        [
            "tcp-server: tcpsrv.rs and tcpnaive.rs both play it, and the code does not say \
             which is meant; both are graded and the better kept"
        ]
    );
    assert_eq!(
        s.alternates.get(&TCP_SERVER).map(|r| r.file.as_path()),
        Some(Path::new("tcpnaive.rs"))
    );
    assert!(s.role(TCP_CLIENT).is_none());
}

#[test]
fn a_server_whose_reply_helper_comes_before_its_loop_stays_a_server() {
    let python = "from socket import *\n\ndef reply(sock, message, address):\n    sock.sendto(message.decode().upper().encode(), address)\n\nserverSocket = socket(AF_INET, SOCK_DGRAM)\nserverSocket.bind(('', 12000))\nwhile True:\n    message, address = serverSocket.recvfrom(2048)\n    reply(serverSocket, message, address)\n";
    assert_eq!(
        roles_of("server.py", python),
        ["udp-server port=Some(12000)"]
    );
    let c = "#include <sys/socket.h>\n#include <netinet/in.h>\nstatic void answer(int s, char *b, int n, struct sockaddr_in *to) {\n  sendto(s, b, n, 0, (struct sockaddr *)to, sizeof *to);\n}\nint main(void) {\n  char buf[2048];\n  struct sockaddr_in me, peer;\n  socklen_t len = sizeof peer;\n  int s = socket(AF_INET, SOCK_DGRAM, 0);\n  me.sin_port = htons(12000);\n  bind(s, (struct sockaddr *)&me, sizeof me);\n  for (;;) {\n    int n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&peer, &len);\n    answer(s, buf, n, &peer);\n  }\n}\n";
    assert_eq!(roles_of("server.c", c), ["udp-server port=Some(12000)"]);
}
