fn main() {
    println!("slatenfs");
}
