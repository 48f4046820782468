fn main() {
    std::process::exit(analylit_doctor::cli::run());
}
