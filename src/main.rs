fn main() {
    let code = analylit_doctor::cli::run();
    analylit_doctor::stack::connect::close_tunnels();
    std::process::exit(code);
}
