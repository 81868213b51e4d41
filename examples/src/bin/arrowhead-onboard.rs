//! Onboards a device and its system with the shared secret, the whole Arrowhead chain
//! (Onboarding Controller, Device Registry, System Registry), and registers the system (and
//! optionally a service) in the Service Registry with its new certificate.
//!
//! `arrowhead-onboard --system NAME [--device NAME] [--mac MAC] [--secret S] [--onboarding URL]
//! [--trust master.crt] [--certificates DIR] [--password P] [--address A] [--port N]
//! [--service DEF --service-uri /x]`

use arrowhead_app::onboard::{self, Device, SystemSpec};
use arrowhead_app::{Application, Args};
use serde_json::json;
use std::path::Path;

const USAGE: &str = "usage: arrowhead-onboard --system NAME [--device NAME] [--mac MAC] [--secret S] [--onboarding URL]\n\
       [--trust FILE] [--certificates DIR] [--password P] [--address A] [--port N] [--service DEF] [--service-uri URI]\n\
Makes every key and CSR here. With the shared secret (default hidden_secret) the Onboarding Controller\n\
(default https://localhost:8435) certifies the device (NAME default <system>-device, MAC default this\n\
machine's); with that certificate the Device Registry registers the device and certifies it, and with the\n\
device's the System Registry registers the system and certifies it. Writes DIR/NAME.p12, .key, .crt,\n\
.chain.pem, .pub for the device and the system (DIR default certificates; trusting FILE, default\n\
DIR/master.crt), then registers the system in the Service Registry (address default 127.0.0.1, port\n\
default 9003) and, with --service, one service over HTTP-SECURE-JSON.";

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
    let address = args.get("address", "127.0.0.1");
    let port = args.port("port", 9003)?;
    let mac = match args.get("mac", "") {
        m if m.is_empty() => onboard::local_mac()
            .ok_or("this machine has no network interface with a MAC address; give --mac")?,
        m => m,
    };
    let device = Device {
        name: args.get("device", &format!("{system}-device")),
        address: address.clone(),
        mac,
    };
    let spec = SystemSpec {
        name: system.clone(),
        address: address.clone(),
        port,
    };
    let done = onboard::join(
        &args.get("onboarding", "https://localhost:8435"),
        &args.get("secret", "hidden_secret"),
        &device,
        &spec,
        &trust,
        Path::new(&dir),
        &password,
    )
    .await?;
    match (&done.device_entry, &done.system_entry) {
        (Some(d), Some(s)) => {
            println!(
                "device {} registered (Device Registry entry {}, certificate {dir}/{}.p12)",
                device.name, d["id"], device.name
            );
            println!(
                "system {} registered on it (System Registry entry {})",
                system, s["id"]
            );
        }
        _ => println!("this cloud runs no Device or System Registry: the Onboarding Controller certified the system"),
    }
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
            println!("system {system} is in the Service Registry already (the System Registry recorded it)")
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
