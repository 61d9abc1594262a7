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
