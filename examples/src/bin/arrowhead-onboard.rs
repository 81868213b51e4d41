//! Onboards a new system with the shared secret and registers it (and optionally a service) in
//! the Service Registry with its new certificate.
//!
//! `arrowhead-onboard --system NAME [--secret S] [--onboarding URL] [--trust master.crt]
//! [--certificates DIR] [--password P] [--address A] [--port N] [--service DEF --service-uri /x]`

use arrowhead_app::{onboard, Application, Args};
use serde_json::json;
use std::path::Path;

const USAGE: &str = "usage: arrowhead-onboard --system NAME [--secret S] [--onboarding URL] [--trust FILE]\n\
       [--certificates DIR] [--password P] [--address A] [--port N] [--service DEF] [--service-uri URI]\n\
Makes a key and a CSR here, has the Onboarding Controller (default https://localhost:8435, shared\n\
secret default hidden_secret) get the certificate signed, writes DIR/NAME.p12, .key, .crt, .chain.pem,\n\
.pub (DIR default certificates; trusting FILE, default DIR/master.crt), then registers the system\n\
(address default 127.0.0.1, port default 9003) and, with --service, one service over HTTP-SECURE-JSON.";

async fn run(args: &Args) -> Result<(), String> {
    let system = args.get("system", "");
    if system.is_empty() {
        return Err(format!("--system is required\n{USAGE}"));
    }
    let dir = args.get("certificates", "certificates");
    let password = args.get("password", "123456");
    let trust_path = args.get("trust", &format!("{dir}/master.crt"));
    let trust = std::fs::read(&trust_path)
        .map_err(|e| format!("{trust_path}: {e}"))
        .and_then(|pem| {
            openssl::x509::X509::from_pem(&pem).map_err(|e| format!("{trust_path}: {e}"))
        })?;
    let done = onboard::onboard(
        &args.get("onboarding", "https://localhost:8435"),
        &args.get("secret", "hidden_secret"),
        &system,
        &trust,
        Path::new(&dir),
        &password,
    )
    .await?;
    println!(
        "onboarded: {} ({})",
        done.common_name,
        done.keystore.display()
    );
    let register_uri = done.answer["serviceRegistry"]["uri"]
        .as_str()
        .ok_or("the answer names no Service Registry")?;
    let sr = register_uri.trim_end_matches("/register");
    let app = Application::load(Path::new(&dir), &system, &password)?;
    let address = args.get("address", "127.0.0.1");
    let port = args.port("port", 9003)?;
    let key = app
        .tls
        .keystore
        .public_key_base64()
        .map_err(|e| e.to_string())?;
    let mut me = app.system(&address, port);
    me["authenticationInfo"] = json!(key);
    let (status, answer) = app
        .call(
            "serviceregistry",
            hyper::Method::POST,
            &format!("{sr}/register-system"),
            Some(&me),
        )
        .await?;
    match status {
        201 => println!("registered system {system} (id {})", answer["id"]),
        400 if answer["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("already exists")) =>
        {
            println!("system {system} was registered already")
        }
        _ => return Err(format!("register-system answered {status}: {answer}")),
    }
    let service = args.get("service", "");
    if !service.is_empty() {
        let body = json!({
            "serviceDefinition": service, "serviceUri": args.get("service-uri", "/"),
            "secure": "CERTIFICATE", "interfaces": ["HTTP-SECURE-JSON"], "providerSystem": me,
        });
        let (status, answer) = app
            .call(
                "serviceregistry",
                hyper::Method::POST,
                register_uri,
                Some(&body),
            )
            .await?;
        if status != 201 {
            return Err(format!("register answered {status}: {answer}"));
        }
        println!("registered service {service} (id {})", answer["id"]);
    }
    Ok(())
}

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let result = match Args::parse(std::env::args().skip(1), USAGE) {
        Ok(args) => run(&args).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("arrowhead-onboard: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
